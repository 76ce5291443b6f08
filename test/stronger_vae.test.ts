/**
 * The stronger VAE of issue 12: residual blocks per stage (ConvVAEOptions.blocksPerStage, CLI
 * --vae_blocks), wide latents (--latent_channels 128|256), and the perceptual and adversarial
 * terms of trainVAE (perceptualWeight with the semantic probe or the VAE's own encoder as the
 * feature network; adversarialWeight with a PatchDiscriminator on pixels and its own optimizer).
 * The default model is unchanged (names and initial weights), a blocks model computes the same
 * on 'cpu' and emulated 'cuda', each term trains and resumes bit-identically after a mid-epoch
 * interrupt, and the CLI flags reach the checkpoint (loadVAE rebuilds the model).
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as wk from '../src';
import type { Episode } from '../src/data/episode';
import { ConvVAE, ResidualBlock } from '../src/models/conv_vae';
import { SemanticProbe } from '../src/models/semantic_probe';
import type { Module } from '../src/nn/module';
import { Tensor } from '../src/tensor/tensor';
import { createVAE, trainVAE, TrainVAEOptions } from '../src/train/train_vae';
import { discriminatorHealth, discriminatorStepLogs } from '../src/train/discriminator_health';
import { loadCheckpoint } from '../src/train/checkpoint';
import { loadVAE } from '../src/train/load';
import { readMetricsLog } from '../src/train/metrics_log';
import { main } from '../src/cli/main';

const tmpDirs: string[] = [];
const tmp = (name: string) => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `wk-strongvae-${name}-`));
  tmpDirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

const weights = (m: Module): Record<string, number[]> => Object.fromEntries(Object.entries(m.stateDict()).map(([k, t]) => [k, Array.from(t.toFloat32Array())]));
const bytesOf = (w: Record<string, { toFloat32Array(): Float32Array } | Float32Array | { data: Float32Array }>): Record<string, string> =>
  Object.fromEntries(
    Object.entries(w).map(([k, t]) => {
      const a = t instanceof Float32Array ? t : 'toFloat32Array' in t ? t.toFloat32Array() : t.data;
      return [k, Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex')];
    }),
  );

/** Small 16x16 episodes: moving stripes plus noise, smooth actions, one binary label (stripe phase). */
function episode(seed: number, length: number): Episode {
  const H = 16, W = 16;
  const frames = new Uint8Array(length * H * W * 3);
  let s = seed * 7919 + 1;
  const r = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 8) / 16777216;
  const labels = new Int32Array(length);
  for (let t = 0; t < length; ++t) {
    labels[t] = (t + seed) % 2;
    for (let y = 0; y < H; ++y)
      for (let x = 0; x < W; ++x)
        for (let c = 0; c < 3; ++c) frames[((t * H + y) * W + x) * 3 + c] = Math.min(255, Math.floor(((x + t * (c + 1) + seed) % W) * 12 + y * 3 + r() * 40));
  }
  const actions = Float32Array.from({ length: length * 3 }, (_, i) => Math.sin(i * 0.7 + seed));
  return { length, height: H, width: W, frames, actionDim: 3, actions, labelDim: 1, labels, labelHeads: [{ name: 'phase', classes: ['even', 'odd'] }] } as Episode;
}
const data = () => [episode(1, 12), episode(2, 12), episode(3, 8)];
const small = { inputShape: [3, 16, 16] as [number, number, number], encoderChannels: [4, 8], latentShape: [6, 4, 4] as [number, number, number], seed: 3 };

/** Parameters of a residual block at c channels: 3x3 conv and 1x1 conv, with biases. */
const blockParams = (c: number) => c * c * 9 + c + c * c + c;

describe('ConvVAE blocksPerStage', () => {
  test('N blocks after every encoder stage and before every decoder stage: shapes, names, parameter count; they start as the identity', () => {
    const base = new ConvVAE(small);
    for (const n of [1, 2]) {
      const vae = new ConvVAE({ ...small, blocksPerStage: n });
      // encoder stages at 4 and 8 channels; decoder stages before the convT from 8 (decoder_in's 8) and from 4
      const extra = n * (blockParams(4) + blockParams(8)) + n * (blockParams(8) + blockParams(4));
      expect(vae.numParameters()).toBe(base.numParameters() + extra);
      const names = Object.keys(vae.stateDict());
      // encoder: conv, relu, n blocks, conv, relu, n blocks
      expect(names).toContain('encoder.0.weight');
      expect(names).toContain('encoder.2.conv1.weight');
      expect(names).toContain(`encoder.${2 + n}.weight`);
      expect(names).toContain(`encoder.${4 + n}.conv2.bias`);
      // decoder: n blocks, convT, relu, n blocks, convT
      expect(names).toContain('decoder.0.conv1.weight');
      expect(names).toContain(`decoder.${n}.weight`);
      expect(names).toContain(`decoder.${n + 2}.conv1.weight`);
      expect(names).toContain(`decoder.${2 * n + 2}.weight`);
      expect(vae.encoder.length).toBe(4 + 2 * n);
      expect(vae.decoder.length).toBe(3 + 2 * n);
      const x = new Tensor([2, 3, 16, 16], "float32", Float32Array.from({ length: 2 * 3 * 16 * 16 }, (_, i) => ((i * 37) % 101) / 100));
      vae.eval();
      const o = vae.forward(x);
      expect(o.recon.shape).toEqual([2, 3, 16, 16]);
      expect(o.mu.shape).toEqual([2, 6, 4, 4]);
      // each added block is the identity at the start (its last conv is zero)
      const blocks = [...Array(vae.encoder.length).keys()].map((i) => vae.encoder.at(i)).concat([...Array(vae.decoder.length).keys()].map((i) => vae.decoder.at(i))).filter((l): l is ResidualBlock => l instanceof ResidualBlock);
      expect(blocks.length).toBe(4 * n);
      const b = blocks[0];
      const h = new Tensor([1, 4, 8, 8], "float32", Float32Array.from({ length: 4 * 8 * 8 }, (_, i) => Math.sin(i)));
      expect(Array.from(b.forward(h).toFloat32Array())).toEqual(Array.from(h.toFloat32Array()));
    }
    expect(() => new ConvVAE({ ...small, blocksPerStage: -1 })).toThrow(/blocksPerStage/);
    expect(() => new ConvVAE({ ...small, blocksPerStage: 1.5 })).toThrow(/blocksPerStage/);
  });

  test('the default model is unchanged: its parameter names and initial weights (the Generator draw order)', () => {
    const vae = new ConvVAE({ seed: 1 });
    expect(Object.keys(vae.stateDict())).toEqual([
      'encoder.0.weight', 'encoder.0.bias', 'encoder.2.weight', 'encoder.2.bias', 'encoder.4.weight', 'encoder.4.bias', 'encoder.6.weight', 'encoder.6.bias',
      'mu.weight', 'mu.bias', 'logvar.weight', 'logvar.bias', 'decoder_in.weight', 'decoder_in.bias',
      'decoder.0.weight', 'decoder.0.bias', 'decoder.2.weight', 'decoder.2.bias', 'decoder.4.weight', 'decoder.4.bias', 'decoder.6.weight', 'decoder.6.bias',
    ]);
    const h = crypto.createHash('sha256');
    for (const [k, t] of Object.entries(vae.stateDict())) {
      const a = t.toFloat32Array();
      h.update(k).update(Buffer.from(a.buffer, a.byteOffset, a.byteLength));
    }
    // recorded from the model before blocksPerStage existed (commit b4081f0): a change of the
    // draw order or of any initial weight changes it
    expect(h.digest('hex')).toBe(DEFAULT_MODEL_SHA256);
    expect(weights(new ConvVAE({ seed: 1, blocksPerStage: 0 }))).toEqual(weights(vae));
  });

  test("init 'he': the plain model's convs are the default draws times sqrt(6) (variance 2/fan_in); heads and residual blocks as drawn; a bad value is refused", () => {
    for (const extra of [{}, { blocksPerStage: 1 }]) {
      const u = weights(new ConvVAE({ ...small, ...extra }));
      const he = weights(new ConvVAE({ ...small, ...extra, init: 'he' }));
      expect(Object.keys(he)).toEqual(Object.keys(u));
      const scaled = Object.keys(u).filter((k) => /^(encoder\.\d+|decoder\.\d+|decoder_in)\.weight$/.test(k));
      // the stride-2 convs, decoder_in and the transposed convs: 2 + 1 + 2 in this 2-stage model
      expect(scaled.length).toBe(5);
      for (const k of Object.keys(u)) {
        if (!scaled.includes(k)) {
          expect(he[k]).toEqual(u[k]);
          continue;
        }
        expect(he[k].length).toBe(u[k].length);
        he[k].forEach((v, i) => expect(Math.abs(v - u[k][i] * Math.sqrt(6))).toBeLessThanOrEqual(1e-6 * Math.abs(v) + 1e-12));
        // U(±sqrt(6/fan_in)) with fan_in = weight.shape[1] · k², as PyTorch counts it (transposed too)
        const [, b, kh, kw] = new ConvVAE({ ...small, ...extra, init: 'he' }).stateDict()[k].shape;
        const bound = Math.sqrt(6 / (b * kh * kw));
        expect(Math.max(...he[k].map(Math.abs))).toBeLessThanOrEqual(bound);
        expect(Math.max(...he[k].map(Math.abs))).toBeGreaterThan(0.5 * bound);
      }
    }
    expect(() => new ConvVAE({ ...small, init: 'kaiming' as 'he' })).toThrow(/ConvVAE.*init.*'uniform' or 'he'.*kaiming/);
  });

  test("forward and backward of a blocks model agree on 'cpu' and emulated 'cuda'", () => {
    // the emulation stays on for this file (switching back needs every 'cuda' tensor disposed)
    wk.useCudaEmulation(true);
    {
      const x = new Tensor([3, 3, 16, 16], "float32", Float32Array.from({ length: 3 * 3 * 16 * 16 }, (_, i) => ((i * 53) % 97) / 97));
      const noise = Float32Array.from({ length: 3 * 6 * 16 }, (_, i) => Math.cos(i * 1.3));
      const run = (device: 'cpu' | 'cuda') => {
        const vae = new ConvVAE({ ...small, blocksPerStage: 1, residualBlocks: 1 });
        // give the zero-initialized last convs values, so every block's gradient path is exercised
        for (const [k, p] of Object.entries(vae.stateDict())) if (k.includes('conv2')) p.f32().forEach((_, i, a) => (a[i] = 0.05 * Math.sin(i + k.length)));
        vae.to(device);
        const l = vae.loss(x.to(device), { noise: new Tensor([3, 6, 4, 4], "float32", noise).to(device) });
        l.total.backward();
        const grads: Record<string, Float32Array> = Object.fromEntries([...vae.namedParameters()].map(([n, p]) => [n, p.grad!.toFloat32Array()]));
        return { loss: l.total.item(), recon: l.output.recon.toFloat32Array(), grads };
      };
      const c = run('cpu'), g = run('cuda');
      expect(Math.abs(g.loss - c.loss)).toBeLessThanOrEqual(1e-4 * Math.abs(c.loss));
      closeArrays(g.recon, c.recon, 1e-4, 'recon');
      expect(Object.keys(g.grads)).toEqual(Object.keys(c.grads));
      expect(Object.keys(c.grads).length).toBe(14 + 4 * 4 + 2 * 4); // 2 convs, 2 heads, decoder_in, 2 convTs (weight + bias each); 4 stage blocks and 2 residualBlocks of 4 tensors
      for (const k of Object.keys(c.grads)) closeArrays(g.grads[k], c.grads[k], 2e-3, `grad ${k}`);
      // the blocks' weights do get gradients
      expect(c.grads['encoder.2.conv1.weight'].some((v) => v !== 0)).toBe(true);
    }
  });
});

function closeArrays(a: Float32Array, b: Float32Array, rel: number, what: string): void {
  expect(a.length).toBe(b.length);
  let scale = 0;
  for (const v of b) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < a.length; ++i)
    if (!(Math.abs(a[i] - b[i]) <= rel * Math.max(Math.abs(b[i]), 1e-2 * scale, 1e-6))) throw new Error(`${what}[${i}]: ${a[i]} vs ${b[i]}`);
}

describe('trainVAE with perceptual and adversarial terms', () => {
  const eps = data();
  const probe = () => new SemanticProbe({ heads: [{ name: 'phase', classes: ['even', 'odd'] }], inputShape: [3, 16, 16], channels: [4, 4, 8, 8], hidden: 8, seed: 5 });
  const quiet = { onNote: () => {} };
  const base: TrainVAEOptions = { epochs: 2, batchSize: 4, lr: 2e-3, seed: 4, maxBatchesPerEpoch: 3, collapseCheck: false, callbacks: quiet };
  const variants: [string, () => TrainVAEOptions][] = [
    ['perceptual (probe, pairs)', () => ({ perceptualWeight: 0.5, perceptualNetwork: probe() })],
    ['perceptual (encoder)', () => ({ perceptualWeight: 0.5, perceptualNetwork: 'encoder' })],
    ['adversarial', () => ({ adversarialWeight: 0.01, discLr: 1e-3, discSteps: 2 })],
  ];

  test.each(variants)('%s: changes the training, logs its terms, and resumes bit-identically after a mid-epoch interrupt', async (name, extra) => {
    const make = () => createVAE({ ...small, blocksPerStage: 1 });
    const plain = make();
    await trainVAE(plain, eps, { ...base });
    const a = make();
    const dirA = tmp('a');
    const ra = await trainVAE(a, eps, { ...base, ...extra(), checkpointDir: dirA });
    expect(ra.step).toBe(6);
    expect(weights(a)).not.toEqual(weights(plain)); // the term takes part
    const batches = readMetricsLog(path.join(dirA, 'metrics.jsonl')).filter((r) => r.kind === 'batch');
    if (name.startsWith('perceptual')) {
      expect(batches.every((r) => (r.perceptual as number) > 0)).toBe(true);
    } else {
      for (const r of batches) {
        expect(r.adv as number).toBeGreaterThan(0);
        expect(r.discLoss as number).toBeGreaterThan(0);
        expect(r.discAcc as number).toBeGreaterThanOrEqual(0);
        expect(r.discAcc as number).toBeLessThanOrEqual(1);
      }
      expect(ra.history[0].discAcc).toBeGreaterThanOrEqual(0); // the epoch's mean accuracy
      const ck = loadCheckpoint(dirA);
      expect(Object.keys(ck.moduleWeights('discriminator')).length).toBeGreaterThan(0);
      expect(ck.extraOptimizers.discriminator).toBeTruthy();
      ck.dispose();
    }
    // interrupted after step 2 (mid-epoch), resumed in a new process' worth of objects
    const dirB = tmp('b');
    const signal = { stop: false };
    const b1 = make();
    const rb1 = await trainVAE(b1, eps, { ...base, ...extra(), checkpointDir: dirB, signal, callbacks: { ...quiet, onBatchEnd: (_b, l) => { if (l.step === 2) signal.stop = true; } } });
    expect(rb1.stopReason).toBe('interrupted');
    const b2 = make();
    const rb2 = await trainVAE(b2, eps, { ...base, ...extra(), checkpointDir: dirB, resume: true });
    expect(rb2.step).toBe(6);
    expect(bytesOf(b2.stateDict())).toEqual(bytesOf(a.stateDict()));
    expect(rb2.history).toEqual(ra.history);
    if (name === 'adversarial') {
      const ca = loadCheckpoint(dirA), cb = loadCheckpoint(dirB);
      expect(bytesOf(cb.moduleWeights('discriminator'))).toEqual(bytesOf(ca.moduleWeights('discriminator')));
      ca.dispose();
      cb.dispose();
    }
  });

  test("on emulated 'cuda' (probe and encoder perceptual, adversarial) the losses are the CPU's", async () => {
    wk.useCudaEmulation(true);
    for (const extra of [{ perceptualWeight: 0.5, perceptualNetwork: probe(), adversarialWeight: 0.01 }, { perceptualWeight: 0.5, perceptualNetwork: 'encoder' as const }]) {
      const rows = async (device: 'cpu' | 'cuda') => {
        const out: Record<string, number>[] = [];
        const vae = createVAE({ ...small, blocksPerStage: 1 });
        const net = extra.perceptualNetwork === 'encoder' ? 'encoder' : probe();
        await trainVAE(vae, eps, { ...base, ...extra, perceptualNetwork: net, epochs: 1, device, callbacks: { ...quiet, onBatchEnd: (_b, l) => void out.push({ ...l }) } });
        return out;
      };
      const c = await rows('cpu'), g = await rows('cuda');
      expect(g.length).toBe(3);
      g.forEach((row, i) => {
        for (const k of ['loss', 'recon', 'kl', 'perceptual', ...(extra.adversarialWeight ? ['adv', 'discLoss'] : [])])
          expect(Math.abs(row[k] - c[i][k])).toBeLessThanOrEqual(1e-3 * Math.abs(c[i][k]) + 1e-6);
      });
    }
  });

  test("the 'encoder' network needs the VAE's options; a missing network or a bad weight is named", async () => {
    const bare = new ConvVAE(small);
    await expect(trainVAE(bare, eps, { ...base, perceptualWeight: 1, perceptualNetwork: 'encoder' })).rejects.toThrow(/^trainVAE: options.perceptualNetwork/);
    await expect(trainVAE(createVAE(small), eps, { ...base, perceptualWeight: 1 })).rejects.toThrow(/^trainVAE: options.perceptualNetwork .*when perceptualWeight > 0/);
    await expect(trainVAE(createVAE(small), eps, { ...base, adversarialWeight: -1 })).rejects.toThrow(/^trainVAE: options.adversarialWeight/);
    const wrong = new SemanticProbe({ heads: [{ name: 'p', classes: ['a', 'b'] }], inputShape: [3, 32, 32], channels: [4, 4, 4, 4], hidden: 4 });
    await expect(trainVAE(createVAE(small), eps, { ...base, perceptualWeight: 1, perceptualNetwork: wrong })).rejects.toThrow(/inputShape \[3,16,16\]/);
  });

  test('an overpowered discriminator is noted', async () => {
    const notes: string[] = [];
    await trainVAE(createVAE(small), eps, {
      ...base, epochs: 1, maxBatchesPerEpoch: 6, adversarialWeight: 1e-4, discLr: 2e-2, discSteps: 8, callbacks: { onNote: (m) => void notes.push(m) },
    });
    expect(notes.filter((m) => /discriminator overpowered in epoch 1/.test(m)).length).toBe(1);
    expect(notes.some((m) => /collapsed/.test(m))).toBe(false);
  });

  test('discriminator health: a collapsed one (chance accuracy, a flat loss near 2 ln 2) and an overpowered one (right at every step) are named; a healthy one is not', () => {
    // the epoch means the loop keeps, of each step's discriminatorStepLogs
    const epoch = (steps: [number, number][]) => {
      const m: Record<string, number> = {};
      for (const [acc, loss] of steps) for (const [k, v] of Object.entries(discriminatorStepLogs(acc, loss))) m[k] = (m[k] ?? 0) + v / steps.length;
      return m;
    };
    const ten = (f: (i: number) => [number, number]) => Array.from({ length: 10 }, (_, i) => f(i));
    expect(discriminatorHealth(2, epoch(ten((i) => [0.5, 1.386 + 0.001 * Math.sin(i)])), 'reconstructions')).toMatch(/^discriminator collapsed in epoch 3: accuracy 50.0% with a flat loss 1.386/);
    expect(discriminatorHealth(3, epoch(ten((i) => [0.5, 1.0 + 0.2 * (i % 3)])), 'x')).toBeNull(); // chance accuracy but a moving loss: still learning
    expect(discriminatorHealth(4, epoch(ten((i) => [0.6 + 0.02 * i, 1.2 - 0.05 * i])), 'x')).toBeNull();
    expect(discriminatorHealth(5, epoch(ten((i) => [i === 5 ? 0.95 : 1, 0.05])), 'x')).toBeNull(); // one step below 99%: not the whole epoch
    expect(discriminatorHealth(6, epoch(ten(() => [1, 0.01])), 'reconstructions')).toMatch(/^discriminator overpowered in epoch 7: it told real from reconstructions/);
    expect(discriminatorHealth(0, {}, 'x')).toBeNull(); // no discriminator
  });
});

describe('CLI train-vae: --latent_channels, --vae_blocks, the perceptual and adversarial flags', () => {
  const io = () => {
    const out: string[] = [], err: string[] = [];
    return { out, err, io: { out: (s: string) => out.push(s), err: (s: string) => err.push(s), isTTY: false } };
  };
  const sim = ['--episodes', '2', '--steps', '20', '--epochs', '1', '--batch_size', '8', '--encoder_channels', '4,8,8,8'];

  test('kebab-case flags: latent 128, 1 block per stage, He init, encoder perceptual, adversarial; saved in the checkpoint; loadVAE rebuilds; --resume keeps them', async () => {
    const out = tmp('cli-a');
    const r = io();
    const code = await main(['train-vae', ...sim, '--latent-channels', '128', '--vae-blocks', '1', '--vae-init', 'he', '--perceptual-weight', '0.1', '--perceptual-network', 'encoder',
      '--adversarial-weight', '0.01', '--disc-lr', '1e-3', '--disc-steps', '2', '--out', out], r.io);
    expect(r.err.join('\n')).toBe('');
    expect(code).toBe(0);
    const ck = loadCheckpoint(out);
    const cfg = ck.config as { vae: { latentShape: number[]; blocksPerStage: number; init: string }; training: Record<string, unknown> };
    expect(cfg.vae.latentShape).toEqual([128, 4, 4]);
    expect(cfg.vae.init).toBe('he');
    expect(cfg.vae.blocksPerStage).toBe(1);
    expect(cfg.training).toMatchObject({ perceptualWeight: 0.1, perceptualNetwork: 'encoder', adversarialWeight: 0.01, discLr: 1e-3, discSteps: 2 });
    ck.dispose();
    const vae = loadVAE(out);
    expect(vae.latentShape).toEqual([128, 4, 4]);
    expect(Object.keys(vae.stateDict())).toContain('encoder.2.conv1.weight');
    expect(r.out.join('\n')).toMatch(/perceptual: weight 0.1, features of a frozen copy of the VAE's encoder/);
    // resumed for one more epoch without repeating the flags: the discriminator's state is found
    const r2 = io();
    expect(await main(['train-vae', ...sim.slice(0, -2), '--epochs', '2', '--resume', '--out', out], r2.io)).toBe(0);
    expect(loadCheckpoint(out).epoch).toBe(2);
    const last = readMetricsLog(path.join(out, 'metrics.jsonl')).filter((x) => x.kind === 'batch').pop()!;
    expect(last.epoch).toBe(1);
    expect(last.perceptual as number).toBeGreaterThan(0); // the checkpoint's settings, not the flags' defaults
    expect(last.discAcc).toBeDefined();
  });

  test('snake_case flags: latent 256; --perceptual_network probe without --probe trains one and says so; --probe DIR reuses it', async () => {
    const out = tmp('cli-b');
    const r = io();
    const code = await main(['train-vae', ...sim, '--latent_channels', '256', '--vae_blocks', '0', '--perceptual_weight', '0.1', '--probe_epochs', '1', '--out', out], r.io);
    expect(r.err.join('\n')).toBe('');
    expect(code).toBe(0);
    expect(r.out.join('\n')).toMatch(/no --probe given: training a semantic probe on the training data/);
    expect(fs.existsSync(path.join(out, 'probe', 'probe.json'))).toBe(true);
    const vae = loadVAE(out);
    expect(vae.latentShape).toEqual([256, 4, 4]);
    expect(Object.keys(vae.stateDict()).some((k) => k.includes('conv1'))).toBe(false);
    const r2 = io();
    expect(await main(['train-vae', ...sim, '--perceptual_weight', '0.1', '--probe', path.join(out, 'probe'), '--out', tmp('cli-c')], r2.io)).toBe(0);
    expect(r2.out.join('\n')).toMatch(/features of the semantic probe in /);
    const r3 = io();
    expect(await main(['train-vae', ...sim, '--vae_blocks', '-1', '--out', tmp('cli-d')], r3.io)).toBe(2);
    const r4 = io();
    expect(await main(['train-vae', ...sim, '--perceptual_weight', '0.1', '--probe', path.join(out, 'nothing'), '--out', tmp('cli-e')], r4.io)).toBe(2);
    expect(r4.err.join('\n')).toMatch(/--probe .*nothing: no semantic probe there/);
    const r5 = io();
    expect(await main(['train-vae', ...sim, '--vae_init', 'xavier', '--out', tmp('cli-f')], r5.io)).toBe(2);
    expect(r5.err.join('\n')).toMatch(/--vae_init must be one of uniform, he, got 'xavier'/);
  });
});

const DEFAULT_MODEL_SHA256 = '1c0fd307ef02a0f8975b8a836378509d2fbe879c0dea865cf2abc250ae677278';
