/**
 * 'cuda' beyond single ops, under the CPU emulation of the CUDA kernels (wk.useCudaEmulation()),
 * against the CPU: uint8 frame conversion, SGD / Adam / AdamW over several steps and the
 * optimizers' stateDict, gradient clipping, model state dicts, the rollout; the goal: a full
 * ConvVAE training step and a LatentPredictor scheduled-sampling training step run on 'cuda' and
 * equal the CPU steps. Each op's values and gradients on 'cuda' (conv, losses, permute, LSTM, ...):
 * the op table (test/op_table.ts).
 */
import * as wk from '../src';
import { Tensor } from '../src/tensor/tensor';
import { Generator } from '../src/random/generator';
import { ConvVAE } from '../src/models/conv_vae';
import { openLoopRollout } from '../src/rollout/index';

function rnd(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; ++i) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + ((s >>> 8) / 16777216) * (hi - lo);
  }
  return out;
}
function t(shape: number[], seed: number, lo = -1, hi = 1): Tensor {
  return wk.tensor(rnd(shape.reduce((a, b) => a * b, 1), seed, lo, hi), shape);
}
function expectClose(actual: Float32Array, expected: Float32Array, rel = 1e-5, what = ''): void {
  expect(actual.length).toBe(expected.length);
  let scale = 0;
  for (const v of expected) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < expected.length; ++i) {
    const tol = rel * Math.max(Math.abs(expected[i]), scale, 1e-30);
    if (!(Math.abs(actual[i] - expected[i]) <= tol)) throw new Error(`${what} element ${i}: ${actual[i]} vs ${expected[i]} (tol ${tol})`);
  }
}

describe("more ops on 'cuda' under the emulation", () => {
  beforeAll(() => wk.useCudaEmulation(true));
  afterAll(() => wk.setDefaultDevice('cpu'));

  // conv2d (fused ReLU too), convTranspose2d, the losses, permute/transpose and lstmCell on 'cuda':
  // values and gradients against float64 references in the op table (test/op_table.ts).

  test('crossEntropy checks the labels of cuda logits', () => {
    const x = t([2, 3], 25).to('cuda');
    expect(() => wk.crossEntropy(x, [0, 3])).toThrow(/crossEntropy: labels\[1\] must be a class in \[0, 2\], got 3/);
  });

  test('uint8 frame conversion with cuda: framesToFloat(..., {device}) and floatToFrames of cuda images', () => {
    const bytes = Uint8Array.from({ length: 2 * 5 * 7 * 3 }, (_, i) => (i * 37 + 11) % 256);
    for (const layout of ['NHWC', 'NCHW'] as const) {
      const frames = wk.tensor(bytes, layout === 'NHWC' ? [2, 5, 7, 3] : [2, 3, 5, 7]);
      const fc = wk.framesToFloat(frames, layout);
      const fd = wk.framesToFloat(frames, layout, { device: 'cuda' });
      expect(fd.device).toBe('cuda');
      expect(fd.shape).toEqual(fc.shape);
      expect(Array.from(fd.toFloat32Array())).toEqual(Array.from(fc.toFloat32Array()));
      const img = t([2, 3, 5, 7], 84, -0.2, 1.2);
      const bc = wk.floatToFrames(img, layout);
      const bd = wk.floatToFrames(img.to('cuda'), layout);
      expect(bd.device).toBe('cpu');
      expect(bd.dtype).toBe('uint8');
      expect(Array.from(bd.toArray() as number[])).toEqual(Array.from(bc.toArray() as number[]));
    }
    // a ConvVAE on cuda takes uint8 frames directly (converted on the device)
    const vae = new ConvVAE({ inputShape: [3, 16, 16], encoderChannels: [4, 8], latentDim: 6, seed: 3 }).to('cuda');
    const frames = wk.tensor(Uint8Array.from({ length: 2 * 16 * 16 * 3 }, (_, i) => (i * 13) % 256), [2, 16, 16, 3]);
    const out = vae.forward(frames, { sample: false });
    expect(out.recon.device).toBe('cuda');
    const ref = new ConvVAE({ inputShape: [3, 16, 16], encoderChannels: [4, 8], latentDim: 6, seed: 3 }).forward(frames, { sample: false });
    expectClose(out.recon.toFloat32Array(), ref.recon.toFloat32Array(), 1e-4, 'recon from frames');
  });

  function optimizerRun(make: (ps: Tensor[]) => wk.optim.Optimizer, device: 'cpu' | 'cuda', steps: number) {
    const ps = [t([7], 40), t([3, 5], 41)].map((p) => (device === 'cuda' ? p.to('cuda') : p).detach().requireGrad());
    const opt = make(ps);
    for (let s = 0; s < steps; ++s) {
      ps.forEach((p, i) => {
        p.grad = (device === 'cuda' ? t(p.shape, 50 + 10 * s + i).to('cuda') : t(p.shape, 50 + 10 * s + i));
      });
      opt.step();
    }
    return { ps, opt };
  }

  test('SGD (momentum, Nesterov, weight decay) and AdamW steps on cuda equal the CPU steps; stateDict round-trips', () => {
    const makers: Array<[string, (ps: Tensor[]) => wk.optim.Optimizer]> = [
      ['SGD plain', (ps) => new wk.optim.SGD(ps, { lr: 0.1 })],
      ['SGD nesterov', (ps) => new wk.optim.SGD(ps, { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-2 })],
      ['SGD dampening', (ps) => new wk.optim.SGD(ps, { lr: 0.05, momentum: 0.5, dampening: 0.3 })],
      ['Adam', (ps) => new wk.optim.Adam(ps, { lr: 1e-2, weightDecay: 1e-3 })],
      ['AdamW', (ps) => new wk.optim.AdamW(ps, { lr: 1e-2 })],
    ];
    for (const [name, make] of makers) {
      const c = optimizerRun(make, 'cpu', 3);
      const d = optimizerRun(make, 'cuda', 3);
      c.ps.forEach((p, i) => expectClose(d.ps[i].toFloat32Array(), p.toFloat32Array(), 1e-5, `${name} param ${i}`));
      const sc = c.opt.stateDict(), sd = d.opt.stateDict();
      expect(sd.type).toBe(sc.type);
      sc.state.forEach((s, i) => {
        for (const [k, v] of Object.entries(s ?? {})) {
          if (v instanceof Float32Array) expectClose((sd.state[i] as Record<string, Float32Array>)[k], v, 1e-5, `${name} state ${i}.${k}`);
          else expect((sd.state[i] as Record<string, unknown>)[k]).toBe(v);
        }
      });
      // load the cuda optimizer's state into fresh optimizers on both devices: the next steps agree
      const pc = c.ps.map((p) => p.detach().requireGrad());
      const pd = c.ps.map((p) => p.detach().to('cuda').requireGrad());
      const oc = make(pc), od = make(pd);
      oc.loadStateDict(sd);
      od.loadStateDict(sd);
      pc.forEach((p, i) => (p.grad = t(p.shape, 90 + i)));
      pd.forEach((p, i) => (p.grad = t(p.shape, 90 + i).to('cuda')));
      oc.step();
      od.step();
      pc.forEach((p, i) => expectClose(pd[i].toFloat32Array(), p.toFloat32Array(), 1e-5, `${name} after loadStateDict, param ${i}`));
      expect(od.stateDict().state.map((s) => s?.step)).toEqual(oc.stateDict().state.map((s) => s?.step));
    }
  });

  test('gradNorm and clipGradNorm over cuda (and mixed) gradients match the CPU', () => {
    const mk = (device: 'cpu' | 'cuda') =>
      [t([7], 85), t([3, 67], 86), t([129], 87)].map((p, i) => {
        const q = (device === 'cuda' && i < 2 ? p.to('cuda') : p).detach().requireGrad();
        q.grad = device === 'cuda' && i < 2 ? t(p.shape, 88 + i).to('cuda') : t(p.shape, 88 + i);
        return q;
      });
    const pc = mk('cpu'), pd = mk('cuda');
    expectClose(Float32Array.of(wk.optim.gradNorm(pd)), Float32Array.of(wk.optim.gradNorm(pc)), 1e-6, 'gradNorm');
    const nc = wk.optim.clipGradNorm(pc, 0.5), nd = wk.optim.clipGradNorm(pd, 0.5);
    expectClose(Float32Array.of(nd), Float32Array.of(nc), 1e-6, 'clipGradNorm norm');
    pc.forEach((p, i) => expectClose(pd[i].grad!.toFloat32Array(), p.grad!.toFloat32Array(), 1e-5, `clipped grad ${i}`));
    expect(pd[0].grad!.device).toBe('cuda');
  });

  test('a model on cuda: stateDict/loadStateDict and safetensors round-trip through the host', () => {
    const opts = { latentSize: 6, actionSize: 2, hiddenSize: 8, seed: 5 };
    const src = new wk.LatentPredictor(opts);
    const gpu = new wk.LatentPredictor({ ...opts, seed: 9 }).to('cuda');
    gpu.loadStateDict(src.stateDict()); // CPU values into cuda parameters
    const back = new wk.LatentPredictor({ ...opts, seed: 11 });
    back.loadStateDict(gpu.stateDict()); // cuda values into CPU parameters
    const bytes = wk.encodeSafetensors(gpu.stateDict()); // cuda tensors are copied to the host
    const decoded = wk.decodeSafetensors(bytes);
    for (const [k, p] of Object.entries(src.stateDict())) {
      expect(gpu.stateDict()[k].device).toBe('cuda');
      expect(Array.from(gpu.stateDict()[k].toFloat32Array())).toEqual(Array.from(p.toFloat32Array()));
      expect(Array.from(back.stateDict()[k].toFloat32Array())).toEqual(Array.from(p.toFloat32Array()));
      expect(Array.from(decoded.tensors[k].toFloat32Array())).toEqual(Array.from(p.toFloat32Array()));
    }
  });

  test('openLoopRollout (encode frames, roll out, decode) with models on cuda matches the CPU models', () => {
    const vopts = { inputShape: [3, 16, 16] as [number, number, number], encoderChannels: [4, 8], latentDim: 6, seed: 3 };
    const popts = { latentSize: 6, actionSize: 3, hiddenSize: 8, seed: 5 };
    const frames = Uint8Array.from({ length: 6 * 16 * 16 * 3 }, (_, i) => (i * 29 + 7) % 256);
    const actions = rnd(6 * 3, 95);
    const input = { frames, actions, actionDim: 3, context: 3, horizon: 3 };
    const rc = openLoopRollout(new wk.LatentPredictor(popts), new ConvVAE(vopts), input);
    const rg = openLoopRollout(new wk.LatentPredictor(popts).to('cuda'), new ConvVAE(vopts).to('cuda'), input);
    expectClose(rg.predLatents, rc.predLatents, 1e-4, 'predLatents');
    expectClose(rg.trueLatents!, rc.trueLatents!, 1e-4, 'trueLatents');
    expectClose(rg.predImages, rc.predImages, 1e-4, 'predImages');
    for (let i = 0; i < rc.predFrames.length; ++i) expect(Math.abs(rg.predFrames[i] - rc.predFrames[i])).toBeLessThanOrEqual(1);
    // encoding episodes for predictor training with a VAE on cuda
    const ep = { length: 6, height: 16, width: 16, frames, actionDim: 3, actions, labelDim: 0 };
    const ec = wk.train.encodeEpisodes(new ConvVAE(vopts), [ep], 4);
    const eg = wk.train.encodeEpisodes(new ConvVAE(vopts).to('cuda'), [ep], 4);
    expectClose(eg[0].z, ec[0].z, 1e-4, 'encodeEpisodes');
  });

  test('a full ConvVAE training step (encoder convs with fused ReLU, transposed decoder, MSE/BCE + KL, Adam) on cuda equals the CPU step', () => {
    for (const reconLoss of ['mse', 'bce'] as const) {
      const opts = { inputShape: [3, 16, 16] as [number, number, number], encoderChannels: [4, 8], latentDim: 6, freeBits: 0.5, reconLoss, seed: 3 };
      const cpu = new ConvVAE(opts);
      const gpu = new ConvVAE(opts).to('cuda');
      const oc = new wk.optim.Adam(cpu.parameters(), { lr: 1e-3 });
      const og = new wk.optim.Adam(gpu.parameters(), { lr: 1e-3 });
      const x = t([2, 3, 16, 16], 60, 0, 1);
      const xd = x.to('cuda');
      for (let step = 0; step < 2; ++step) {
        const noise = t([2, 6], 61 + step);
        const lc = cpu.loss(x, { noise });
        const lg = gpu.loss(xd, { noise: noise.to('cuda') });
        expect(lg.total.device).toBe('cuda');
        expectClose(Float32Array.of(lg.total.item()), Float32Array.of(lc.total.item()), 1e-4, `${reconLoss} loss`);
        oc.zeroGrad();
        og.zeroGrad();
        lc.total.backward();
        lg.total.backward();
        const pc = cpu.parameters(), pg = gpu.parameters();
        pc.forEach((p, i) => expectClose(pg[i].grad!.toFloat32Array(), p.grad!.toFloat32Array(), 1e-4, `${reconLoss} grad ${i}`));
        oc.step();
        og.step();
        pc.forEach((p, i) => expectClose(pg[i].toFloat32Array(), p.toFloat32Array(), 1e-4, `${reconLoss} param ${i}`));
      }
      // the generator path: eps drawn on the host and uploaded, the same numbers as on the CPU
      const rc = cpu.forward(x, { generator: new Generator(5), sample: true });
      const rg = gpu.forward(xd, { generator: new Generator(5), sample: true });
      expectClose(rg.recon.toFloat32Array(), rc.recon.toFloat32Array(), 1e-4, 'sampled recon');
    }
  });

  test('a LatentPredictor scheduled-sampling training step on cuda equals the CPU step; rollout runs on cuda', () => {
    const opts = { latentSize: 6, actionSize: 2, hiddenSize: 8, numLayers: 2, inputNoiseStd: 0.05, seed: 5 };
    const cpu = new wk.LatentPredictor(opts);
    const gpu = new wk.LatentPredictor(opts).to('cuda');
    const oc = new wk.optim.AdamW(cpu.parameters(), { lr: 1e-2 });
    const og = new wk.optim.AdamW(gpu.parameters(), { lr: 1e-2 });
    const z = t([3, 6, 6], 70), a = t([3, 6, 2], 71);
    const zd = z.to('cuda'), ad = a.to('cuda');
    for (let step = 0; step < 2; ++step) {
      const lc = cpu.loss(z, a, { pTrue: 0.5, rng: new Generator(100 + step) });
      const lg = gpu.loss(zd, ad, { pTrue: 0.5, rng: new Generator(100 + step) });
      expect(lg.device).toBe('cuda');
      expectClose(Float32Array.of(lg.item()), Float32Array.of(lc.item()), 1e-4, 'scheduled loss');
      oc.zeroGrad();
      og.zeroGrad();
      lc.backward();
      lg.backward();
      const pc = cpu.parameters(), pg = gpu.parameters();
      pc.forEach((p, i) => expectClose(pg[i].grad!.toFloat32Array(), p.grad!.toFloat32Array(), 1e-4, `scheduled grad ${i}`));
      oc.step();
      og.step();
      pc.forEach((p, i) => expectClose(pg[i].toFloat32Array(), p.toFloat32Array(), 1e-4, `scheduled param ${i}`));
    }
    cpu.eval();
    gpu.eval();
    const rc = cpu.rollout(z.slice([0, 0, 0], [3, 3, 6]), a, 3);
    const rg = gpu.rollout(zd.slice([0, 0, 0], [3, 3, 6]), ad, 3);
    expect(rg.device).toBe('cuda');
    expectClose(rg.toFloat32Array(), rc.toFloat32Array(), 1e-4, 'rollout');
  });
});
