/**
 * ConvLSTMPredictor (pixel space, issue 14 section 2): gradients against finite differences on
 * 'cpu' and emulated 'cuda', teacher forcing == scheduled sampling at pTrue 1, the open-loop
 * rollout, training from the API and the CLI on tiny Moving MNIST, bit-identical resume,
 * loadPixelPredictor, pixelRollout, argument errors.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as wk from '../src';
import { ConvLSTMPredictor, ConvLSTMPredictorOptions } from '../src/models/conv_lstm_predictor';
import { trainPixelPredictor } from '../src/train/train_pixel_predictor';
import { loadPixelPredictor } from '../src/train/load';
import { loadCheckpoint } from '../src/train/checkpoint';
import { pixelRollout } from '../src/rollout/pixel_rollout';
import { movingMnistEpisodes } from '../src/data/moving_mnist';
import { generateEpisodes } from '../src/data';
import type { Episode } from '../src/data/episode';
import { Generator } from '../src/random/generator';
import { main } from '../src/cli/main';

const tmpDirs: string[] = [];
const tmp = (name: string) => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `wk-convlstm-${name}-`));
  tmpDirs.push(d);
  return d;
};
afterAll(() => tmpDirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

const TINY: ConvLSTMPredictorOptions = { frameShape: [1, 4, 4], patchSize: 2, hiddenChannels: 3, numLayers: 2, kernelSize: 3, actionSize: 2, seed: 3 };
const frames = (B: number, T: number, shape = [1, 4, 4], seed = 1) => wk.rand([B, T, ...shape], { seed });
const actions = (B: number, T: number, A = 2, seed = 2) => wk.randn([B, T, A], { seed });
const hostOf = (t: wk.Tensor) => Array.from(t.hostF32('test'));
const weightsOf = (m: { namedParameters(): Iterable<[string, wk.Tensor]> }) => [...m.namedParameters()].map(([n, p]) => [n, hostOf(p)]);

/**
 * Central differences of f over a few elements of every parameter of a CPU model (float32 loss,
 * eps 1e-2). Checked at 1% + 2e-5: correct gradients stay within 0.13 of that, while dPre off by 5%,
 * or the cell-state gradient off by 20%, exceed it 1.5-3x (measured by patching the kernel).
 */
function finiteDiffs(m: ConvLSTMPredictor, f: () => number, perParam = 3): { name: string; i: number; fd: number }[] {
  const out: { name: string; i: number; fd: number }[] = [];
  const eps = 1e-2;
  for (const [name, p] of m.namedParameters()) {
    const d = p._data as Float32Array;
    for (let k = 0; k < perParam; ++k) {
      const i = Math.floor(((k + 0.5) / perParam) * d.length);
      const v = d[i];
      d[i] = v + eps;
      const up = f();
      d[i] = v - eps;
      const down = f();
      d[i] = v;
      out.push({ name, i, fd: (up - down) / (2 * eps) });
    }
  }
  return out;
}

function analyticGrads(m: ConvLSTMPredictor, loss: () => wk.Tensor): { value: number; grads: Map<string, number[]> } {
  m.zeroGrad();
  const l = loss();
  const value = l.item();
  l.backward();
  const grads = new Map([...m.namedParameters()].map(([n, p]) => [n, hostOf(p.grad!)]));
  m.zeroGrad();
  return { value, grads };
}

describe('ConvLSTMPredictor', () => {
  test('parameter names and shapes, config round trip, seeded init', () => {
    const m = new ConvLSTMPredictor(TINY);
    const shapes = Object.fromEntries([...m.namedParameters()].map(([n, p]) => [n, p.shape]));
    expect(shapes).toEqual({
      'cell0.conv.weight': [12, 4 + 2 + 3, 3, 3],
      'cell0.conv.bias': [12],
      'cell1.conv.weight': [12, 6, 3, 3],
      'cell1.conv.bias': [12],
      'head.weight': [4, 3, 1, 1],
      'head.bias': [4],
    });
    expect(m.config()).toEqual({ kind: 'convlstm', frameShape: [1, 4, 4], patchSize: 2, hiddenChannels: 3, numLayers: 2, kernelSize: 3, actionSize: 2, loss: 'bce', seed: 3 });
    expect(weightsOf(new ConvLSTMPredictor(m.config()))).toEqual(weightsOf(m));
    expect(weightsOf(new ConvLSTMPredictor({ ...TINY, seed: 4 }))).not.toEqual(weightsOf(m));
    // wk.models (src/models/index.ts) lands with the LatentTransformer's commit
    expect((wk as unknown as { models: Record<string, unknown> }).models.ConvLSTMPredictor).toBe(ConvLSTMPredictor);
    expect(wk.ConvLSTMPredictor).toBe(ConvLSTMPredictor);
  });

  for (const loss of ['bce', 'mse'] as const)
    test(`loss '${loss}': gradients match finite differences, teacher-forced and scheduled`, () => {
      const m = new ConvLSTMPredictor({ ...TINY, loss });
      const x = frames(2, 4), a = actions(2, 4);
      for (const scheduled of [false, true]) {
        const run = () => m.loss(x, a, scheduled ? { pTrue: 0.5, rng: new Generator(7) } : {});
        const { grads } = analyticGrads(m, run);
        const fds = finiteDiffs(m, () => wk.noGrad(() => run().item()));
        for (const { name, i, fd } of fds) {
          const an = grads.get(name)![i];
          expect(Math.abs(an - fd)).toBeLessThanOrEqual(1e-2 * Math.abs(fd) + 2e-5);
        }
        // the check can fail: some gradients are far from zero
        expect(Math.max(...fds.map((d) => Math.abs(d.fd)))).toBeGreaterThan(1e-3);
      }
    });

  test('scheduled sampling at pTrue 1 equals teacher forcing (values and gradients); at pTrue 0 it is the rollout from one frame', () => {
    const m = new ConvLSTMPredictor(TINY);
    const x = frames(3, 5), a = actions(3, 5);
    const tf = m.forwardTeacherForced(x, a);
    const ss = m.forwardScheduled(x, a, 1, new Generator(1));
    expect(tf.shape).toEqual([3, 4, 1, 4, 4]);
    expect(hostOf(ss)).toEqual(hostOf(tf));
    const target = x.slice([0, 1, 0, 0, 0], [3, 4, 1, 4, 4]);
    const g1 = analyticGrads(m, () => wk.mseLoss(m.forwardTeacherForced(x, a), target)).grads;
    const g2 = analyticGrads(m, () => wk.mseLoss(m.forwardScheduled(x, a, 1, new Generator(1)), target)).grads;
    expect([...g2.entries()]).toEqual([...g1.entries()]);
    // pTrue 0: every input after the first is the model's own prediction, as in the rollout
    const open = hostOf(m.forwardScheduled(x, a, 0, new Generator(1)));
    const roll = hostOf(m.rollout(x.slice([0, 0, 0, 0, 0], [3, 1, 1, 4, 4]), a, 4));
    open.forEach((v, i) => expect(Math.abs(v - roll[i])).toBeLessThan(1e-6));
    // a mixed schedule differs from both
    const mixed = hostOf(m.forwardScheduled(x, a, 0.5, new Generator(3)));
    expect(mixed).not.toEqual(hostOf(tf));
    expect(mixed).not.toEqual(open);
  });

  test('rollout: shape, values in [0, 1], deterministic, no gradient; burnIn k keeps the first k inputs true', () => {
    const m = new ConvLSTMPredictor(TINY);
    const x = frames(2, 3), a = actions(2, 8);
    const r1 = m.rollout(x, a, 6);
    expect(r1.shape).toEqual([2, 6, 1, 4, 4]);
    expect(r1.requiresGrad).toBe(false);
    const v = hostOf(r1);
    expect(v.every((e) => e >= 0 && e <= 1)).toBe(true);
    expect(hostOf(m.rollout(x, a, 6))).toEqual(v);
    expect(hostOf(new ConvLSTMPredictor(TINY).rollout(x, a, 6))).toEqual(v);
    // the first prediction is the teacher-forced one of frame 3
    const tf = hostOf(m.forwardTeacherForced(wk.concat([x, x.slice([0, 0, 0, 0, 0], [2, 1, 1, 4, 4])], 1), a.slice([0, 0, 0], [2, 4, 2])));
    const per = 16;
    for (let b = 0; b < 2; ++b)
      for (let k = 0; k < per; ++k) expect(Math.abs(v[b * 6 * per + k] - tf[(b * 3 + 2) * per + k])).toBeLessThan(1e-6);
    // burnIn = T-1 at pTrue 0 is teacher forcing
    const y = frames(2, 5);
    expect(hostOf(m.forwardScheduled(y, a, 0, new Generator(2), 4))).toEqual(hostOf(m.forwardTeacherForced(y, a)));
  });

  test('a single channel, patch 1 and no actions work; RGB frames too', () => {
    const g = new ConvLSTMPredictor({ frameShape: [1, 6, 6], patchSize: 1, hiddenChannels: 2, numLayers: 1 });
    expect(g.forwardTeacherForced(frames(1, 3, [1, 6, 6])).shape).toEqual([1, 2, 1, 6, 6]);
    const rgb = new ConvLSTMPredictor({ frameShape: [3, 8, 8], patchSize: 4, hiddenChannels: 2, numLayers: 1 });
    expect(rgb.rollout(frames(2, 2, [3, 8, 8]), null, 3).shape).toEqual([2, 3, 3, 8, 8]);
    expect(Number.isFinite(rgb.loss(frames(2, 3, [3, 8, 8])).item())).toBe(true);
  });

  test('argument errors', () => {
    expect(() => new ConvLSTMPredictor({ frameShape: [1, 6, 6], patchSize: 4 })).toThrow(/patchSize 4 must divide/);
    expect(() => new ConvLSTMPredictor({ kernelSize: 4 })).toThrow(/kernelSize must be odd/);
    expect(() => new ConvLSTMPredictor({ loss: 'l1' as 'bce' })).toThrow(/'bce' or 'mse'/);
    expect(() => new ConvLSTMPredictor({ frameShape: [1, 64] })).toThrow(/frameShape/);
    expect(() => new ConvLSTMPredictor({ hiddenChannels: 0 })).toThrow(/hiddenChannels/);
    const m = new ConvLSTMPredictor(TINY);
    expect(() => m.forwardTeacherForced(frames(2, 3, [1, 4, 5]), actions(2, 3))).toThrow(/must be \[B,T,1,4,4\]/);
    expect(() => m.forwardTeacherForced(frames(2, 1), actions(2, 3))).toThrow(/at least 2 time steps/);
    expect(() => m.forwardTeacherForced(frames(2, 3))).toThrow(/actions/);
    expect(() => m.forwardTeacherForced(frames(2, 3), actions(2, 1))).toThrow(/a needs at least 2 time steps/);
    expect(() => m.forwardTeacherForced(frames(2, 3), actions(3, 3))).toThrow(/batch sizes differ/);
    expect(() => m.forwardScheduled(frames(2, 3), actions(2, 3), 1.5)).toThrow(/pTrue/);
    expect(() => m.rollout(frames(2, 3), actions(2, 3), 0)).toThrow(/horizon/);
    expect(() => m.rollout(frames(2, 3), actions(2, 3), 4)).toThrow(/a needs at least 6 time steps/);
  });
});

describe("ConvLSTMPredictor on 'cuda' under the emulation", () => {
  beforeAll(() => wk.useCudaEmulation(true));
  afterAll(() => wk.useCudaEmulation(false));
  test("the loss and its gradients on 'cuda' match the CPU's finite differences (teacher-forced and scheduled)", () => {
    const cpu = new ConvLSTMPredictor(TINY);
    const dev = new ConvLSTMPredictor(TINY).to('cuda');
    const x = frames(2, 4), a = actions(2, 4);
    wk.tidy(() => {
      const xd = x.to('cuda'), ad = a.to('cuda');
      for (const pTrue of [1, 0.5]) {
        const opts = () => (pTrue === 1 ? {} : { pTrue, rng: new Generator(7) });
        const got = analyticGrads(dev, () => dev.loss(xd, ad, opts()));
        expect(Math.abs(got.value - cpu.loss(x, a, opts()).item())).toBeLessThan(1e-5);
        for (const { name, i, fd } of finiteDiffs(cpu, () => wk.noGrad(() => cpu.loss(x, a, opts()).item())))
          expect(Math.abs(got.grads.get(name)![i] - fd)).toBeLessThanOrEqual(1e-2 * Math.abs(fd) + 2e-5);
      }
      const ctx = (t: wk.Tensor) => t.slice([0, 0, 0, 0, 0], [2, 2, 1, 4, 4]);
      const r = dev.rollout(ctx(xd), ad, 2);
      expect(r.device).toBe('cuda');
      const rc = hostOf(cpu.rollout(ctx(x), a, 2));
      hostOf(r).forEach((v, i) => expect(Math.abs(v - rc[i])).toBeLessThan(1e-5));
    });
    dev.dispose();
  });

  test("trainPixelPredictor on 'cuda' takes the CPU's steps (losses, weights) and frees its optimizer state", async () => {
    // 8x8 gray frames with 2 actions, 4 episodes of 5 frames
    const eps: Episode[] = Array.from({ length: 4 }, (_, e) => ({
      length: 5, height: 8, width: 8, channels: 1, actionDim: 2, labelDim: 0,
      frames: Uint8Array.from({ length: 5 * 64 }, (_, i) => (i * 37 + e * 101) % 256),
      actions: Float32Array.from({ length: 10 }, (_, i) => Math.sin(i + e)),
    }));
    const o = { epochs: 1, batchSize: 2, lr: 1e-2, seqLen: 4, seed: 1, scheduledSampling: true, samplingSchedule: { decay: 'constant' as const, start: 0.5 }, validationSplit: 0.25 };
    const mk = () => new ConvLSTMPredictor({ frameShape: [1, 8, 8], patchSize: 2, hiddenChannels: 3, numLayers: 1, actionSize: 2, seed: 2 });
    const cpu = mk(), dev = mk();
    const rc = await trainPixelPredictor(cpu, eps, o);
    const blocks = wk.cudaAllocatorStats()!.blocksInUse;
    const rd = await trainPixelPredictor(dev, eps, { ...o, device: 'cuda' });
    expect(wk.cudaAllocatorStats()!.blocksInUse).toBe(blocks + dev.parameters().length);
    for (const k of ['loss', 'valLoss', 'valOpenLoop'] as const) expect(Math.abs(rd.history[0][k] - rc.history[0][k])).toBeLessThan(1e-4);
    const wc = weightsOf(cpu), wd = weightsOf(dev);
    wc.forEach(([, v], i) => (v as number[]).forEach((x, j) => expect(Math.abs(x - (wd[i][1] as number[])[j])).toBeLessThan(1e-4)));
    dev.dispose();
  });
});

describe('trainPixelPredictor', () => {
  // Moving MNIST on 32x32 canvases, 6 frames a sequence: cheap, and still moving digits.
  const mm = () => movingMnistEpisodes({ count: 20, frames: 6, size: 32, seed: 4 });
  const opts = { batchSize: 4, lr: 1e-2, seqLen: 6, seed: 2, maxBatchesPerEpoch: 4 };
  const mk = (seed = 5) => new ConvLSTMPredictor({ frameShape: [1, 32, 32], patchSize: 4, hiddenChannels: 8, numLayers: 1, seed });

  test('training lowers the loss; validation logs the open-loop pixel MSE; loadPixelPredictor opens the run', async () => {
    const m = mk();
    const dir = tmp('api');
    const r = await trainPixelPredictor(m, mm(), { ...opts, epochs: 4, checkpointDir: dir });
    expect(r.history).toHaveLength(4);
    expect(r.history[3].loss).toBeLessThan(r.history[0].loss - 0.05);
    expect(r.history[3].valLoss).toBeLessThan(r.history[0].valLoss);
    expect(r.history[3].valOpenLoopFrameMse).toBeCloseTo(r.history[3].valOpenLoop * 32 * 32, 6);
    const ck = loadCheckpoint(dir);
    expect([ck.kind, (ck.config.predictor as { kind: string }).kind]).toEqual(['pixel_predictor', 'convlstm']);
    ck.dispose();
    const loaded = loadPixelPredictor(dir);
    expect(weightsOf(loaded)).toEqual(weightsOf(m));
    expect(loaded.training).toBe(false);
    // pixelRollout: decoded frames for the image metrics and filmstrips
    const ep = mm()[0];
    const pr = pixelRollout(loaded, { frames: ep.frames, context: 3, horizon: 3 });
    expect([pr.predFrames.length, pr.predImages.length, pr.realFrames!.length, pr.realImages!.length]).toEqual([3 * 1024, 3 * 1024, 3 * 1024, 3 * 1024]);
    const want = hostOf(loaded.rollout(wk.framesToFloat(new wk.Tensor([3, 32, 32, 1], 'uint8', ep.frames.slice(0, 3 * 1024))).reshape(1, 3, 1, 32, 32), null, 3));
    expect(Array.from(pr.predImages)).toEqual(want);
  });

  test('scheduled sampling with burn-in: 2 epochs == 1 epoch + resume + 1, bit for bit (and mid-epoch)', async () => {
    const o = { ...opts, epochs: 2, scheduledSampling: true, burnIn: 2, lrSchedule: 'cosine' as const, gradClip: 1 };
    const a = mk();
    const ra = await trainPixelPredictor(a, mm(), { ...o, checkpointDir: tmp('ra') });
    expect(ra.history[1].pTrue).toBeCloseTo(0.25, 12);
    const dir = tmp('rb');
    await trainPixelPredictor(mk(), mm(), { ...o, checkpointDir: dir, callbacks: { onEpochEnd: () => false } });
    const b = mk();
    await trainPixelPredictor(b, mm(), { ...o, checkpointDir: dir, resume: true });
    expect(weightsOf(b)).toEqual(weightsOf(a));
    const dirC = tmp('rc');
    await trainPixelPredictor(mk(), mm(), { ...o, checkpointDir: dirC, callbacks: { onBatchEnd: (bi) => bi !== 1 } });
    const c = mk();
    await trainPixelPredictor(c, mm(), { ...o, checkpointDir: dirC, resume: true });
    expect(weightsOf(c)).toEqual(weightsOf(a));
  });

  test('actions from the driving simulator are fed as planes; argument errors', async () => {
    const sim = generateEpisodes({ episodes: 3, steps: 8, seed: 3, cacheDir: false });
    const p = new ConvLSTMPredictor({ frameShape: [3, 64, 64], patchSize: 8, hiddenChannels: 4, numLayers: 1, actionSize: 3 });
    const r = await trainPixelPredictor(p, sim, { epochs: 1, batchSize: 2, seqLen: 4, maxBatchesPerEpoch: 1 });
    expect(Number.isFinite(r.history[0].loss)).toBe(true);
    await expect(trainPixelPredictor(mk(), sim, { epochs: 1 })).rejects.toThrow(/frameShape \[1, 32, 32\]/);
    await expect(trainPixelPredictor(new ConvLSTMPredictor({ frameShape: [3, 64, 64], patchSize: 8, actionSize: 2 }), sim, { epochs: 1 })).rejects.toThrow(/3 action values per frame, the predictor expects 2/);
    await expect(trainPixelPredictor(mk(), mm(), { seqLen: 7 })).rejects.toThrow(/no training window of 7 frames/);
    await expect(trainPixelPredictor(mk(), mm(), { seqLen: 6, burnIn: 6 })).rejects.toThrow(/burnIn/);
    await expect(trainPixelPredictor({} as ConvLSTMPredictor, mm())).rejects.toThrow(/ConvLSTMPredictor/);
  });
});

describe('worldkit train-predictor --predictor convlstm', () => {
  const run = async (argv: string[]) => {
    const out: string[] = [], err: string[] = [];
    const code = await main(argv, { out: (s) => out.push(s), err: (s) => err.push(s), isTTY: false });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };
  test('trains on Moving MNIST without --vae, lowers the loss, resumes from --out; bad flags are usage errors', async () => {
    const out = path.join(tmp('cli'), 'run');
    const base = ['train-predictor', '--predictor', 'convlstm', '--data', 'mmnist', '--episodes', '8', '--steps', '4', '--seq_len', '4', '--batch_size', '4',
      '--hidden_channels', '4', '--num_layers', '1', '--patch_size', '8', '--lr', '3e-3', '--out', out];
    const r = await run([...base, '--epochs', '3']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/train-predictor \(convlstm\): 8 episodes of 64x64x1 frames; 1 ConvLSTM cells of 4 channels on 8x8 patches/);
    const p = loadPixelPredictor(out);
    expect(p.config()).toMatchObject({ frameShape: [1, 64, 64], patchSize: 8, hiddenChannels: 4, numLayers: 1, actionSize: 0, loss: 'bce' });
    const hist = (loadCheckpoint(out) as unknown as { metrics: { loss: number }[]; dispose(): void });
    const losses = hist.metrics.map((h) => h.loss);
    hist.dispose();
    expect(losses).toHaveLength(3);
    expect(losses[2]).toBeLessThan(losses[0]);
    const r2 = await run([...base, '--epochs', '4', '--resume']);
    expect(r2.code).toBe(0);
    expect(r2.out).toMatch(/resuming at epoch 4/);
    expect(r2.out).toMatch(/completed: 4 epochs/);
    // worldkit rollout takes the pixel-space checkpoint without --vae: rows real / imagined
    const film = path.join(tmp('film'), 'f.png');
    const rr = await run(['rollout', '--predictor', out, '--data', 'mmnist', '--episodes', '2', '--context', '3', '--horizon', '4', '--count', '2', '--out', film]);
    expect(rr.err).toBe('');
    expect(rr.out).toMatch(/open loop \(pixel space\): 2 sequences, 3 context frames, 4 imagined/);
    expect(fs.statSync(film).size).toBeGreaterThan(100);
    expect((await run(['rollout', '--predictor', out, '--data', 'mmnist', '--episodes', '2', '--closed_loop'])).err).toMatch(/--closed_loop needs a latent predictor/);
    expect((await run([...base, '--vae', 'runs/vae'])).err).toMatch(/--vae does not apply to --predictor convlstm/);
    expect((await run([...base, '--hidden_size', '8'])).code).toBe(2);
    expect((await run(['train-predictor', '--vae', 'x', '--patch_size', '2'])).err).toMatch(/--patch_size is a ConvLSTM option/);
    expect((await run([...base, '--patch_size', '5'])).err).toMatch(/patchSize 5 must divide/);
    expect((await run([...base, '--pixel_loss', 'l1'])).code).toBe(2);
  });
});
