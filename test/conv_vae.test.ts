import * as fs from 'fs';
import * as path from 'path';
import * as wk from '../src';
import { Conv2d, ConvTranspose2d, Sequential, Flatten, Unflatten, ReLU, Sigmoid } from '../src/nn';
import { ConvVAE, worldModelsVAE } from '../src/models/conv_vae';
import { Adam } from '../src/optim';
import { Module } from '../src/nn/module';
import { DrivingSim } from '../src/data';

/** The integer pattern of test/fixtures/make_torch_fixtures_conv.py (identical float32 values). */
function pattern(n: number, seed: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; ++i) out[i] = ((((i * 7919 + seed * 104729) % 2001) - 1000) / 1000) * scale;
  return out;
}

function initModule(m: Module, seed0: number): void {
  let lastScale = 1;
  let k = 0;
  for (const [, p] of m.namedParameters()) {
    let scale = lastScale;
    if (p.ndim >= 2) {
      scale = 1 / Math.sqrt(p.shape[1] * p.shape.slice(2).reduce((a, b) => a * b, 1));
      lastScale = scale;
    }
    (p.data() as Float32Array).set(pattern(p.size, seed0 + k, scale));
    k++;
  }
}

interface Summary {
  shape: number[];
  data?: number[];
  head?: number[];
  sumsq?: number;
  dot?: number;
}

/** Max relative error of `got` against a fixture summary (relative to the tensor's largest value). */
function relErr(got: Float32Array, s: Summary): number {
  const ref = s.data ?? s.head!;
  let maxRef = 1e-12;
  let maxDiff = 0;
  for (let i = 0; i < ref.length; ++i) {
    maxRef = Math.max(maxRef, Math.abs(ref[i]));
    maxDiff = Math.max(maxDiff, Math.abs(got[i] - ref[i]));
  }
  let err = maxDiff / maxRef;
  if (s.sumsq !== undefined) {
    let ss = 0;
    let dot = 0;
    let pp = 0;
    const p = pattern(got.length, 999);
    for (let i = 0; i < got.length; ++i) {
      ss += got[i] * got[i];
      dot += got[i] * p[i];
      pp += p[i] * p[i];
    }
    err = Math.max(err, Math.abs(ss - s.sumsq) / Math.max(s.sumsq, 1e-30) / 2);
    err = Math.max(err, Math.abs(dot - s.dot!) / Math.sqrt(Math.max(s.sumsq * pp, 1e-30)));
  }
  return err;
}

const fixturePath = path.join(__dirname, 'fixtures', 'torch_conv.json');
const fixture = fs.existsSync(fixturePath) ? JSON.parse(fs.readFileSync(fixturePath, 'utf8')) : null;

describe('nn conv modules', () => {
  test('Conv2d / ConvTranspose2d: PyTorch layouts, names and default init bounds', () => {
    const c = new Conv2d(3, 8, 4, { stride: 2, padding: 1, seed: 1 });
    expect(c.weight.shape).toEqual([8, 3, 4, 4]);
    expect(c.bias!.shape).toEqual([8]);
    expect([...c.namedParameters()].map(([n]) => n)).toEqual(['weight', 'bias']);
    const bound = 1 / Math.sqrt(3 * 16);
    const w = c.weight.toFloat32Array();
    expect(Math.max(...w)).toBeLessThanOrEqual(bound);
    expect(Math.min(...w)).toBeGreaterThanOrEqual(-bound);
    expect(Math.max(...w)).toBeGreaterThan(0.8 * bound);
    expect(Math.max(...c.bias!.toFloat32Array().map(Math.abs))).toBeLessThanOrEqual(bound);
    // Same seed, same weights.
    expect(Array.from(new Conv2d(3, 8, 4, { seed: 1 }).weight.toFloat32Array())).toEqual(Array.from(w));
    const t = new ConvTranspose2d(16, 4, 5, { stride: 2, seed: 2 });
    expect(t.weight.shape).toEqual([16, 4, 5, 5]);
    const tb = 1 / Math.sqrt(4 * 25); // fan_in from weight dim 1, as PyTorch
    expect(Math.max(...t.weight.toFloat32Array().map(Math.abs))).toBeLessThanOrEqual(tb);
    expect(Math.max(...t.weight.toFloat32Array().map(Math.abs))).toBeGreaterThan(0.8 * tb);
    expect(new Conv2d(3, 8, 3, { bias: false }).bias).toBeNull();
    expect(t.forward(wk.randn([2, 16, 3, 3])).shape).toEqual([2, 4, 9, 9]);
  });

  test('Sequential, Flatten, Unflatten and activations', () => {
    const m = new Sequential(new Conv2d(1, 2, 3, { padding: 1, seed: 3 }), new ReLU(), new Flatten(), new Unflatten(1, [2, 4, 4]), new Sigmoid());
    expect([...m.namedParameters()].map(([n]) => n)).toEqual(['0.weight', '0.bias']);
    const y = m.forward(wk.randn([3, 1, 4, 4], { seed: 4 }));
    expect(y.shape).toEqual([3, 2, 4, 4]);
    const v = y.toFloat32Array();
    expect(Math.min(...v)).toBeGreaterThanOrEqual(0.5); // sigmoid of relu output
    expect(() => new Unflatten(1, [3, 3]).forward(wk.randn([2, 8]))).toThrow(/Unflatten: input dim 1 has size 8/);
  });

  test('layer errors name the layer', () => {
    const c = new Conv2d(3, 8, 4, { stride: 2 });
    expect(() => c.forward(wk.randn([1, 1, 8, 8]))).toThrow(/Conv2d\(3->8\): input must be \[N,C,H,W\] with C=3, got \[1,1,8,8\]/);
    expect(() => c.forward(wk.randn([1, 3, 2, 2]))).toThrow(/Conv2d\(3->8\): input spatial size 2x2/);
    expect(() => new Conv2d(3, 8, 4, { stride: 1.5 })).toThrow(/Conv2d: stride must be an integer or a pair of integers, got 1.5/);
    expect(() => new ConvTranspose2d(3, 8, 4, { stride: 2, outputPadding: 2 })).toThrow(/ConvTranspose2d: outputPadding \[2,2\] must be smaller than the stride \[2,2\]/);
    expect(() => new Conv2d(0, 8, 4)).toThrow(/Conv2d: inChannels must be an integer in \[1,/);
  });
});

describe('ConvVAE', () => {
  test('default layout: shapes, names, [0,1] output, frames in both layouts', () => {
    const vae = new ConvVAE({ seed: 1 });
    expect(vae.latentShape).toEqual([64, 4, 4]);
    expect(vae.featureShape).toEqual([256, 4, 4]);
    const names = [...vae.namedParameters()].map(([n]) => n);
    expect(names.slice(0, 2)).toEqual(['encoder.0.weight', 'encoder.0.bias']);
    expect(names).toContain('mu.weight');
    expect(names).toContain('decoder_in.weight');
    expect(names[names.length - 1]).toBe('decoder.6.bias');
    wk.noGrad(() => {
      const x = wk.rand([2, 3, 64, 64], { seed: 2 });
      const { mu, logvar } = vae.encode(x);
      expect(mu.shape).toEqual([2, 64, 4, 4]);
      expect(logvar.shape).toEqual([2, 64, 4, 4]);
      const out = vae.forward(x, { generator: new wk.Generator(3) });
      expect(out.recon.shape).toEqual([2, 3, 64, 64]);
      const r = out.recon.toFloat32Array();
      expect(Math.min(...r)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...r)).toBeLessThanOrEqual(1);
      // uint8 frames: NHWC and NCHW give the same encoding as the float images
      const u8 = new Uint8Array(2 * 64 * 64 * 3);
      for (let i = 0; i < u8.length; ++i) u8[i] = (i * 31) % 256;
      const nhwc = wk.tensor(u8, [2, 64, 64, 3], { dtype: 'uint8' });
      const asFloat = wk.framesToFloat(nhwc, 'NHWC');
      const nchw = wk.floatToFrames(asFloat, 'NCHW');
      const a = vae.encode(nhwc).mu.toFloat32Array();
      const b = vae.encode(nchw).mu.toFloat32Array();
      const c = vae.encode(asFloat).mu.toFloat32Array();
      expect(Array.from(a)).toEqual(Array.from(c));
      expect(Array.from(b)).toEqual(Array.from(c));
      const lossv = vae.loss(x, { generator: new wk.Generator(4) });
      expect(lossv.total.item()).toBeCloseTo(lossv.recon.item() + lossv.kl.item(), 2);
    });
  });

  test('worldModelsVAE reproduces Ha & Schmidhuber', () => {
    const vae = worldModelsVAE({ seed: 1 });
    expect(vae.featureShape).toEqual([256, 2, 2]);
    expect(vae.latentShape).toEqual([32]);
    const shapes = Object.fromEntries([...vae.namedParameters()].map(([n, p]) => [n, p.shape]));
    expect(shapes['mu.weight']).toEqual([32, 1024]);
    expect(shapes['decoder_in.weight']).toEqual([1024, 32]);
    expect(shapes['decoder.0.weight']).toEqual([1024, 128, 5, 5]);
    expect(shapes['decoder.2.weight']).toEqual([128, 64, 5, 5]);
    expect(shapes['decoder.4.weight']).toEqual([64, 32, 6, 6]);
    expect(shapes['decoder.6.weight']).toEqual([32, 3, 6, 6]);
    expect(vae.freeBits).toBe(16);
    wk.noGrad(() => {
      const out = vae.forward(wk.rand([2, 3, 64, 64], { seed: 2 }), { generator: new wk.Generator(3) });
      expect(out.z.shape).toEqual([2, 32]);
      expect(out.recon.shape).toEqual([2, 3, 64, 64]);
    });
  });

  test('flat latent and residual blocks', () => {
    const vae = new ConvVAE({ inputShape: [3, 32, 32], encoderChannels: [8, 16], latentDim: 48, residualBlocks: 1, seed: 5 });
    expect(vae.latentShape).toEqual([48]);
    const l = vae.loss(wk.rand([3, 3, 32, 32], { seed: 1 }), { generator: new wk.Generator(1) });
    l.total.backward();
    expect(l.output.z.shape).toEqual([3, 48]);
    for (const [n, p] of vae.namedParameters()) expect([n, p.grad !== null]).toEqual([n, true]);
  });

  test('freeze / unfreeze', () => {
    const vae = new ConvVAE({ inputShape: [1, 16, 16], encoderChannels: [4, 8], latentShape: [2, 4, 4], seed: 2 });
    vae.freeze();
    expect(vae.isFrozen).toBe(true);
    const x = wk.rand([2, 1, 16, 16], { seed: 3 });
    const { mu } = vae.encode(x);
    expect(mu.requiresGrad).toBe(false);
    vae.unfreeze();
    const l = vae.loss(x, { generator: new wk.Generator(1) });
    l.total.backward();
    expect(vae.parameters().every((p) => p.grad !== null)).toBe(true);
  });

  test('bad input: clear errors', () => {
    expect(() => new ConvVAE({ latentShape: [64, 8, 8] })).toThrow(
      /ConvVAE: latentShape \[64,8,8\] cannot be produced: the encoder turns \[3,64,64\] into \[256,4,4\]/,
    );
    expect(() => new ConvVAE({ inputShape: [3, 60, 60], latentDim: 32 })).toThrow(/ConvVAE: the decoder cannot produce inputShape \[3,60,60\] from latent \[32\]/);
    expect(() => new ConvVAE({ inputShape: [3, 8, 8], encoderChannels: [4, 4, 4, 4, 4] })).toThrow(/ConvVAE: encoder.6 \(conv 4x4 stride 2 padding 1\) gets a 1x1 input, too small/);
    expect(() => new ConvVAE({ reconLoss: 'l1' as 'mse' })).toThrow(/reconLoss must be 'mse' or 'bce'/);
    const vae = new ConvVAE({ inputShape: [3, 16, 16], encoderChannels: [4, 8], latentShape: [2, 4, 4], seed: 1 });
    expect(() => vae.encode(wk.rand([2, 1, 16, 16]))).toThrow(/ConvVAE.encode: x must be \[N,3,16,16\] \(float NCHW\) or uint8 frames, got \[2,1,16,16\]/);
    expect(() => vae.encode(wk.tensor(new Uint8Array(2 * 8 * 8 * 3), [2, 8, 8, 3], { dtype: 'uint8' }))).toThrow(
      /ConvVAE.encode: frames must be uint8 \[N,16,16,3\] or \[N,3,16,16\], got \[2,8,8,3\]/,
    );
    expect(() => vae.decode(wk.randn([2, 3, 4, 4]))).toThrow(/ConvVAE.decode: z must be \[N,2,4,4\], got \[2,3,4,4\]/);
  });

  test('the default 64x64 ConvVAE overfits a batch of 16 simulator frames (recon MSE per pixel < 1e-3)', () => {
    // The default model (64x64x3, latent 64x4x4) on 16 structured DrivingSim frames (every 8th
    // frame of a scripted drive). beta = 0: this checks the capacity of the encoder and decoder,
    // not the prior (z is still sampled, so the posterior variance has to shrink). Adam at 2e-3
    // after a 20-step linear warmup, fixed seeds. At this constant rate Adam has loss spikes (on an
    // AVX2 machine the training MSE fell to 5.8e-4 by step 600, jumped to 1.5e-3 at step 650 and
    // came back to 7.7e-4 by 700), so a fixed step count can end on a spike: training stops at the
    // first step whose training recon MSE (with sampled z) is below 6e-4, which the eval-mode
    // reconstruction (z = mu) tracks within a few percent; 400-600 steps, depending on the ISA path.
    const sim = new DrivingSim(5);
    sim.reset();
    const drive = sim.drive(16 * 8);
    const frames = new Uint8Array(16 * 64 * 64 * 3);
    for (let i = 0; i < 16; ++i) frames.set(drive.frames.subarray(i * 8 * 12288, i * 8 * 12288 + 12288), i * 12288);
    const x = wk.framesToFloat(wk.tensor(frames, [16, 64, 64, 3], { dtype: 'uint8' }), 'NHWC');
    const vae = new ConvVAE({ beta: 0, seed: 7 });
    const lr = 2e-3;
    const steps = 1000;
    const opt = new Adam(vae.parameters(), { lr });
    const gen = new wk.Generator(11);
    let mse = 1;
    for (let step = 0; step < steps && mse >= 6e-4; ++step) {
      opt.lr = lr * Math.min(1, (step + 1) / 20);
      wk.tidy(() => {
        opt.zeroGrad();
        const l = vae.loss(x, { generator: gen });
        l.total.backward();
        opt.step();
        mse = l.recon.item() / (3 * 64 * 64);
      });
    }
    const final = wk.noGrad(() => vae.eval().forward(x).recon);
    const r = final.toFloat32Array();
    const t = x.toFloat32Array();
    let s = 0;
    for (let i = 0; i < r.length; ++i) s += (r[i] - t[i]) ** 2;
    expect(s / r.length).toBeLessThan(1e-3);
  }, 600_000);
});

const withFixture = fixture ? describe : describe.skip;
withFixture('PyTorch parity (test/fixtures/torch_conv.json)', () => {
  test.each(((fixture?.conv ?? []) as { name: string }[]).map((c) => [c.name, c] as [string, unknown]))('%s: output and gradients', (_name: string, c: unknown) => {
    const f = c as {
      transposed: boolean; N: number; Cin: number; H: number; W: number; Cout: number; k: number;
      stride: number; padding: number; outputPadding: number; y: Summary; gx: Summary; gw: Summary; gb: Summary;
    };
    const m = f.transposed
      ? new ConvTranspose2d(f.Cin, f.Cout, f.k, { stride: f.stride, padding: f.padding, outputPadding: f.outputPadding })
      : new Conv2d(f.Cin, f.Cout, f.k, { stride: f.stride, padding: f.padding });
    initModule(m, 10);
    const x = wk.tensor(pattern(f.N * f.Cin * f.H * f.W, 1), [f.N, f.Cin, f.H, f.W]).requireGrad();
    const y = m.forward(x);
    expect(y.shape).toEqual(f.y.shape);
    expect(relErr(y.toFloat32Array(), f.y)).toBeLessThan(1e-5);
    y.backward(wk.tensor(pattern(y.size, 2), y.shape));
    expect(relErr(x.grad!.toFloat32Array(), f.gx)).toBeLessThan(1e-5);
    expect(relErr(m.weight.grad!.toFloat32Array(), f.gw)).toBeLessThan(1e-5);
    expect(relErr(m.bias!.grad!.toFloat32Array(), f.gb)).toBeLessThan(1e-5);
  });

  test('default ConvVAE: forward with fixed noise, losses and all gradients', () => {
    const v = fixture.vae;
    const vae = new ConvVAE();
    expect([...vae.namedParameters()].map(([n]) => n)).toEqual(v.names);
    initModule(vae, 100);
    const N = 2;
    const xs = pattern(N * 3 * 64 * 64, 3).map((a) => (a + 1) / 2);
    const x = wk.tensor(xs, [N, 3, 64, 64]).requireGrad();
    const eps = wk.tensor(pattern(N * 64 * 16, 4), [N, 64, 4, 4]);
    const l = vae.loss(x, { noise: eps });
    const o = l.output;
    expect(relErr(o.recon.toFloat32Array(), v.recon)).toBeLessThan(1e-5);
    expect(relErr(o.mu.toFloat32Array(), v.mu)).toBeLessThan(1e-5);
    expect(relErr(o.logvar.toFloat32Array(), v.logvar)).toBeLessThan(1e-5);
    expect(relErr(o.z.toFloat32Array(), v.z)).toBeLessThan(1e-5);
    expect(Math.abs(l.total.item() - v.total) / Math.abs(v.total)).toBeLessThan(1e-5);
    expect(Math.abs(l.recon.item() - v.reconLoss) / Math.abs(v.reconLoss)).toBeLessThan(1e-5);
    expect(Math.abs(l.kl.item() - v.kl) / Math.abs(v.kl)).toBeLessThan(1e-5);
    l.total.backward();
    expect(relErr(x.grad!.toFloat32Array(), v.gx)).toBeLessThan(1e-5);
    const errs: [string, number][] = [];
    for (const [n, p] of vae.namedParameters()) errs.push([n, relErr(p.grad!.toFloat32Array(), v.grads[n])]);
    for (const [n, e] of errs) expect([n, e < 1e-5 ? 'ok' : e]).toEqual([n, 'ok']);
  });
});
