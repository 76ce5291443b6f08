/**
 * LatentTransformer (issue 14 section 1): the parallel teacher-forced pass, the frame-by-frame
 * path with the key/value cache and the rollout agree; attention is causal over frames; the
 * gradient matches finite differences; it trains, checkpoints, resumes bit-identically and
 * loads, from the API and the CLI, on 'cpu' and emulated 'cuda'.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as wk from '../src';
import { LatentTransformer, LatentTransformerOptions } from '../src/models/latent_transformer';
import { generateEpisodes } from '../src/data';
import { createVAE, trainVAE } from '../src/train/train_vae';
import { createPredictor, trainPredictor } from '../src/train/train_predictor';
import { loadPredictor } from '../src/train/load';
import { loadCheckpoint } from '../src/train/checkpoint';
import { openLoopRollout } from '../src/rollout/index';
import { main } from '../src/cli/main';
import { labelHeadsOf } from '../src/data/episode';
import { SemanticProbe } from '../src/models/semantic_probe';

const tmpDirs: string[] = [];
const tmp = (name: string) => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `wk-transformer-${name}-`));
  tmpDirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

const mk = (o: Partial<LatentTransformerOptions> = {}) =>
  new LatentTransformer({ latentShape: [3, 2, 2], actionSize: 2, hiddenSize: 8, numLayers: 2, numHeads: 2, maxFrames: 8, seed: 7, ...o });
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
const weightsOf = (m: { stateDict(): Record<string, { f32(): Float32Array }> }) =>
  Object.fromEntries(Object.entries(m.stateDict()).map(([k, t]) => [k, Array.from(t.f32())]));

describe('LatentTransformer', () => {
  test('shapes, tokens and parameter names', () => {
    const m = mk();
    expect([m.tokenSize, m.spatialTokens, m.tokensPerFrame]).toEqual([3, 4, 5]);
    const names = Object.keys(m.stateDict());
    expect(names).toEqual(expect.arrayContaining(['tokenProj.weight', 'actionProj.weight', 'spaceEmbedding', 'timeEmbedding',
      'blocks.0.ln1.weight', 'blocks.0.q.weight', 'blocks.1.fc2.bias', 'norm.weight', 'head.weight']));
    const z = wk.randn([2, 5, 3, 2, 2], { seed: 1 });
    const a = wk.randn([2, 5, 2], { seed: 2 });
    expect(m.forwardTeacherForced(z, a).shape).toEqual([2, 4, 3, 2, 2]);
    expect(m.forwardScheduled(z, a, 0.5).shape).toEqual([2, 4, 3, 2, 2]);
    expect(m.rollout(z.slice([0, 0, 0, 0, 0], [2, 2, 3, 2, 2]), a, 3).shape).toEqual([2, 3, 3, 2, 2]);
    // a flat latent is one token of D values; no actions, no action token
    const flat = new LatentTransformer({ latentSize: 6, hiddenSize: 8, numHeads: 2, seed: 1 });
    expect([flat.tokensPerFrame, flat.actionSize]).toEqual([1, 0]);
    expect(flat.forwardTeacherForced(wk.randn([2, 4, 6], { seed: 3 })).shape).toEqual([2, 3, 6]);
  });

  test('the cached frame-by-frame path equals the parallel pass when every input is true; pTrue 0 equals the rollout', () => {
    const m = mk();
    m.eval();
    const B = 3, T = 6;
    const z = wk.randn([B, T, 3, 2, 2], { seed: 3 });
    const a = wk.randn([B, T, 2], { seed: 4 });
    const tf = m.forwardTeacherForced(z, a).toFloat32Array();
    // pTrue just below 1: the coins all come up true but the stepwise (cached) path runs
    const stepwise = m.forwardScheduled(z, a, 1 - 1e-12, new wk.Generator(5)).toFloat32Array();
    expect(maxDiff(tf, stepwise)).toBeLessThan(1e-5);
    const open = m.forwardScheduled(z, a, 0).toFloat32Array();
    const roll = m.rollout(z.slice([0, 0, 0, 0, 0], [B, 1, 3, 2, 2]), a, T - 1).toFloat32Array();
    expect(maxDiff(open, roll)).toBeLessThan(1e-5);
    expect(maxDiff(open, tf)).toBeGreaterThan(1e-3); // feeding predictions back does change them
    // A burn-in of 3: frames 0-2 in one parallel pass that fills the cache, the rest frame by
    // frame on their own predictions = the teacher-forced pass there, then the rollout from 3 frames.
    const burned = m.forwardScheduled(z, a, 0, new wk.Generator(5), 3);
    const D = 12;
    expect(maxDiff(burned.slice([0, 0, 0, 0, 0], [B, 3, 3, 2, 2]).toFloat32Array(), m.forwardTeacherForced(z.slice([0, 0, 0, 0, 0], [B, 4, 3, 2, 2]), a).toFloat32Array())).toBeLessThan(1e-5);
    const rollFrom3 = m.rollout(z.slice([0, 0, 0, 0, 0], [B, 3, 3, 2, 2]), a, T - 3).toFloat32Array();
    const burnedTail = burned.slice([0, 2, 0, 0, 0], [B, T - 3, 3, 2, 2]).toFloat32Array();
    expect(burnedTail.length).toBe(B * (T - 3) * D);
    expect(maxDiff(burnedTail, rollFrom3)).toBeLessThan(1e-5);
  });

  test("the burn-in's one pass adds each frame's own input noise (step-major draws, batch-major frames)", () => {
    const std = 0.1;
    const m = mk({ inputNoiseStd: std });
    m.train();
    const B = 3, T = 6, D = 12;
    const z = wk.randn([B, T, 3, 2, 2], { seed: 21 });
    const a = wk.randn([B, T, 2], { seed: 22 });
    const g = new wk.Generator(0);
    g.setState(m.generator.state());
    const burned = m.forwardScheduled(z, a, 0, new wk.Generator(5), 3);
    // The noise the model drew: step t's [B, D] after step t-1's; frame t of row b gets step t's row b.
    const noisy = z.toFloat32Array().slice();
    for (let t = 0; t < T - 1; ++t) {
      const step = g.fillNormal(new Float32Array(B * D), 0, std);
      for (let b = 0; b < B; ++b) for (let j = 0; j < D; ++j) noisy[(b * T + t) * D + j] += step[b * D + j];
    }
    m.eval();
    const ref = m.forwardTeacherForced(wk.tensor(noisy, [B, T, 3, 2, 2]).slice([0, 0, 0, 0, 0], [B, 4, 3, 2, 2]), a).toFloat32Array();
    expect(maxDiff(burned.slice([0, 0, 0, 0, 0], [B, 3, 3, 2, 2]).toFloat32Array(), ref)).toBeLessThan(1e-5);
    const clean = m.forwardTeacherForced(z.slice([0, 0, 0, 0, 0], [B, 4, 3, 2, 2]), a).toFloat32Array();
    expect(maxDiff(ref, clean)).toBeGreaterThan(1e-2); // the noise is there to be checked
  });

  test('causal over frames: changing frame t changes no prediction made before it', () => {
    const m = mk();
    m.eval();
    const B = 2, T = 6, D = 12;
    const z = wk.randn([B, T, D], { seed: 8 });
    const a = wk.randn([B, T, 2], { seed: 9 });
    const base = m.forwardTeacherForced(z, a).toFloat32Array();
    const zd = z.toFloat32Array().slice();
    const t = 3;
    for (let b = 0; b < B; ++b) for (let d = 0; d < D; ++d) zd[(b * T + t) * D + d] += 1;
    const moved = m.forwardTeacherForced(wk.tensor(zd, [B, T, D]), a).toFloat32Array();
    for (let b = 0; b < B; ++b)
      for (let s = 0; s < T - 1; ++s) {
        const d0 = (b * (T - 1) + s) * D;
        const diff = maxDiff(base.subarray(d0, d0 + D), moved.subarray(d0, d0 + D));
        if (s < t) expect(diff).toBe(0);
        else expect(diff).toBeGreaterThan(1e-4);
      }
  });

  test('a rollout past maxFrames slides its window and agrees with the unslid model while inside it', () => {
    const B = 2, C = 2;
    const z = wk.randn([B, C, 3, 2, 2], { seed: 11 });
    const a = wk.randn([B, C + 9, 2], { seed: 12 });
    const small = mk({ maxFrames: 4 });
    const big = mk({ maxFrames: 4 });
    small.eval();
    big.eval();
    const long = small.rollout(z, a, 10).toFloat32Array();
    expect(long.every(Number.isFinite)).toBe(true);
    // the first maxFrames - C + 1 predictions come from windows of at most maxFrames frames
    const head = big.rollout(z, a, 3).toFloat32Array();
    const D = 12;
    for (let b = 0; b < B; ++b) expect(maxDiff(long.subarray(b * 10 * D, b * 10 * D + 3 * D), head.subarray(b * 3 * D, (b + 1) * 3 * D))).toBeLessThan(1e-6);
    expect(Array.from(small.rollout(z, a, 10).toFloat32Array())).toEqual(Array.from(long));
  });

  test('gradient of the scheduled-sampling loss matches central differences', () => {
    const m = mk({ inputNoiseStd: 0 });
    const z = wk.randn([2, 5, 3, 2, 2], { seed: 13 });
    const a = wk.randn([2, 5, 2], { seed: 14 });
    // burn-in 2: inputs 0-1 in one pass filling the cache, 2-3 frame by frame through it
    const lossAt = () => m.loss(z, a, { pTrue: 0.5, rng: new wk.Generator(3), burnIn: 2 });
    m.zeroGrad();
    lossAt().backward();
    const picks: [string, number][] = [['blocks.0.q.weight', 5], ['blocks.1.fc1.weight', 17], ['tokenProj.weight', 2], ['timeEmbedding', 9], ['head.bias', 1], ['blocks.0.ln1.weight', 3], ['actionProj.weight', 1]];
    const sd = m.stateDict();
    for (const [name, i] of picks) {
      const w = sd[name].f32();
      const g = (Object.fromEntries(m.namedParameters())[name].grad as wk.Tensor).toFloat32Array()[i];
      const h = 1e-2, w0 = w[i];
      w[i] = w0 + h;
      const up = wk.noGrad(() => lossAt().item());
      w[i] = w0 - h;
      const down = wk.noGrad(() => lossAt().item());
      w[i] = w0;
      const fd = (up - down) / (2 * h);
      expect(Math.abs(fd - g)).toBeLessThan(2e-2 * Math.max(Math.abs(fd), 1e-2));
    }
  });

  test('bad options and inputs name what is wrong', () => {
    expect(() => mk({ numHeads: 3 })).toThrow(/LatentTransformer: numHeads \(3\) must divide hiddenSize \(8\)/);
    expect(() => mk().forwardTeacherForced(wk.randn([1, 10, 12], { seed: 1 }), wk.randn([1, 10, 2], { seed: 2 }))).toThrow(/positions for 8 frames \(maxFrames\) but was given 9 input frames/);
    expect(() => createPredictor({ latentShape: [3, 2, 2] }, { predictor: 'lstm', numHeads: 2 })).toThrow(/numHeads is a Transformer option/);
    expect(() => createPredictor({ latentShape: [3, 2, 2] }, { predictor: 'gru' as 'lstm' })).toThrow(/createPredictor: predictor must be 'lstm' or 'transformer'/);
  });
});

describe('training the LatentTransformer', () => {
  const data = generateEpisodes({ episodes: 4, steps: 30, seed: 3, cacheDir: false });
  const tinyVAE = () => createVAE({ encoderChannels: [4, 8, 8, 16], latentShape: [4, 4, 4], seed: 2 });

  test('trainPredictor lowers the loss (teacher forcing)', async () => {
    const vae = tinyVAE();
    const p = createPredictor(vae, { predictor: 'transformer', hiddenSize: 16, numHeads: 2, numLayers: 1, maxFrames: 8, useActions: true, seed: 6 });
    const r = await trainPredictor(p, vae, data, { epochs: 4, batchSize: 4, lr: 3e-3, seed: 5, seqLen: 6 });
    expect(r.history[3].loss).toBeLessThan(0.7 * r.history[0].loss);
  });

  test('2 epochs == 1 + resume + 1 (scheduled sampling, noise, jitter); loadPredictor rebuilds it', async () => {
    const vae = tinyVAE();
    const mkP = () => createPredictor(vae, { predictor: 'transformer', hiddenSize: 16, numHeads: 2, numLayers: 1, maxFrames: 8, useActions: true, seed: 6 });
    const opts = { epochs: 2, batchSize: 4, lr: 3e-3, seed: 5, seqLen: 6, scheduledSampling: true, inputNoiseStd: 0.01, targetJitterScale: 0.005, maxBatchesPerEpoch: 3 };
    const a = mkP();
    await trainPredictor(a, vae, data, { ...opts, checkpointDir: tmp('a') });
    const dir = tmp('b');
    await trainPredictor(mkP(), vae, data, { ...opts, checkpointDir: dir, callbacks: { onEpochEnd: () => false } });
    const b = mkP();
    await trainPredictor(b, vae, data, { ...opts, checkpointDir: dir, resume: true });
    expect(weightsOf(b)).toEqual(weightsOf(a));
    const loaded = loadPredictor(dir);
    expect(loaded).toBeInstanceOf(LatentTransformer);
    expect((loadCheckpoint(dir).config.predictor as { kind: string }).kind).toBe('transformer');
    expect(weightsOf(loaded)).toEqual(weightsOf(a));
    // rollouts through the VAE run on it as on the LSTM
    const r = openLoopRollout(loaded, vae, { frames: data[0].frames.subarray(0, 3 * 64 * 64 * 3), context: 3, actions: data[0].actions, horizon: 4 });
    expect(r.predFrames.length).toBe(4 * 64 * 64 * 3);
    await expect(trainPredictor(mkP(), vae, data, { ...opts, seqLen: 12 })).rejects.toThrow(/seqLen 12 gives windows of 11 input frames, more than the Transformer's maxFrames 8/);
  });

  test('the remedies (perceptual, adversarial, classification) train it as they train the LSTM', async () => {
    const vae = tinyVAE();
    const p = createPredictor(vae, { predictor: 'transformer', hiddenSize: 16, numHeads: 2, numLayers: 1, maxFrames: 8, useActions: true, seed: 6 });
    const probe = new SemanticProbe({ heads: labelHeadsOf(data), channels: [4, 4, 4, 8], hidden: 8, seed: 3 });
    const r = await trainPredictor(p, vae, data, {
      epochs: 1, batchSize: 2, seqLen: 6, lr: 3e-3, maxBatchesPerEpoch: 2, validationSplit: 0.25, metricsFile: null, callbacks: { onNote: () => {} },
      perceptualWeight: 1, perceptualFrames: 2, adversarialWeight: 0.5, classificationWeight: 0.5, classifierSteps: 5, probe,
    });
    const h = r.history[0];
    for (const k of ['latent', 'perceptual', 'adversarial', 'classification', 'discLoss'] as const) expect(Number.isFinite(h[k])).toBe(true);
    expect(h.perceptual).toBeGreaterThan(0);
  });

  test("CLI: train-predictor --predictor transformer trains, resumes, and its flags are checked", async () => {
    const vdir = tmp('vae');
    await trainVAE(tinyVAE(), data, { epochs: 1, batchSize: 16, seed: 1, maxBatchesPerEpoch: 1, checkpointDir: vdir });
    const io = () => {
      const out: string[] = [], err: string[] = [];
      return { out, err, io: { out: (s: string) => out.push(s), err: (s: string) => err.push(s), isTTY: false } };
    };
    const out = tmp('cli');
    const base = ['--vae', vdir, '--episodes', '4', '--steps', '30', '--batch_size', '4', '--seq_len', '6', '--predictor', 'transformer', '--hidden_size', '16', '--num_heads', '2', '--max_frames', '8', '--out', out];
    const r = io();
    const code = await main(['train-predictor', ...base, '--epochs', '1'], r.io);
    expect(r.err.join('\n')).toBe('');
    expect(code).toBe(0);
    expect(r.out.join('\n')).toMatch(/Transformer width 16, 2 blocks, 2 heads/);
    const cfg = loadCheckpoint(out).config.predictor as { kind: string; numLayers: number; numHeads: number };
    expect([cfg.kind, cfg.numLayers, cfg.numHeads]).toEqual(['transformer', 2, 2]);
    const r2 = io();
    expect(await main(['train-predictor', ...base, '--epochs', '2', '--resume'], r2.io)).toBe(0);
    expect(loadPredictor(out)).toBeInstanceOf(LatentTransformer);
    const film = path.join(tmp('film'), 'f.png');
    const r3 = io();
    expect(await main(['rollout', '--vae', vdir, '--predictor', out, '--episodes', '2', '--steps', '30', '--context', '3', '--horizon', '4', '--count', '1', '--out', film], r3.io)).toBe(0);
    expect(r3.out.join('\n')).toMatch(/open loop: 1 sequences, 3 context frames, 4 imagined/);
    expect(fs.statSync(film).size).toBeGreaterThan(100);
    const bad = io();
    expect(await main(['train-predictor', '--vae', vdir, '--episodes', '4', '--steps', '30', '--num_heads', '2', '--out', tmp('bad')], bad.io)).not.toBe(0);
    expect(bad.err.join('\n')).toMatch(/--num_heads is a Transformer option/);
  });
});

describe("the LatentTransformer on 'cuda' under the emulation", () => {
  beforeAll(() => wk.useCudaEmulation(true));
  afterAll(() => wk.useCudaEmulation(false));
  test("a scheduled-sampling loss, its gradient and a rollout on 'cuda' equal the CPU's", () => {
    const z = wk.randn([2, 4, 3, 2, 2], { seed: 21 });
    const a = wk.randn([2, 4, 2], { seed: 22 });
    const res: Record<string, { loss: number; grad: Float32Array; roll: Float32Array }> = {};
    for (const device of ['cpu', 'cuda'] as const) {
      const m = mk({ maxFrames: 3 });
      m.to(device);
      res[device] = wk.tidy(() => {
        const zz = z.to(device), aa = a.to(device);
        const loss = m.loss(zz, aa, { pTrue: 0.5, rng: new wk.Generator(4) });
        loss.backward();
        const grad = (Object.fromEntries(m.namedParameters())['blocks.1.k.weight'].grad as wk.Tensor).toFloat32Array();
        m.eval();
        const roll = m.rollout(zz.slice([0, 0, 0, 0, 0], [2, 2, 3, 2, 2]), aa, 2).toFloat32Array(); // slides once (maxFrames 3)
        return { loss: loss.item(), grad, roll };
      });
      m.dispose();
    }
    expect(Math.abs(res.cuda.loss - res.cpu.loss)).toBeLessThan(1e-5 * Math.max(1, res.cpu.loss));
    expect(maxDiff(res.cuda.grad, res.cpu.grad)).toBeLessThan(1e-4);
    expect(maxDiff(res.cuda.roll, res.cpu.roll)).toBeLessThan(1e-4);
  });
});
