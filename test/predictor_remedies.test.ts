/**
 * The remedies in trainPredictor (issue 12, src/train/remedy_terms.ts): each trains a few steps,
 * logs its term and changes what the predictor learns; a run with all of them resumes
 * bit-identically mid-epoch (discriminator, its optimizer, the classifier and the decoded-subset
 * generator included); the discriminator's health notes; the CLI flags; clear errors.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { generateEpisodes } from '../src/data';
import { labelHeadsOf } from '../src/data/episode';
import { createVAE } from '../src/train/train_vae';
import { createPredictor, trainPredictor, TrainPredictorOptions } from '../src/train/train_predictor';
import { trainVAE } from '../src/train/train_vae';
import { RemedyTerms } from '../src/train/remedy_terms';
import { discriminatorStepLogs } from '../src/train/discriminator_health';
import { loadCheckpoint } from '../src/train/checkpoint';
import { SemanticProbe } from '../src/models/semantic_probe';
import { saveSemanticProbe } from '../src/diagnostics/semantic_probe';
import { main } from '../src/cli/main';

const tmpDirs: string[] = [];
const tmp = (name: string) => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `wk-remedies-${name}-`));
  tmpDirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

const eps = generateEpisodes({ episodes: 3, steps: 24, seed: 5, cacheDir: false });
const heads = labelHeadsOf(eps);
const tinyVAE = () => createVAE({ encoderChannels: [4, 8, 8, 8], latentShape: [4, 4, 4], seed: 2 });
const tinyProbe = () => new SemanticProbe({ heads, channels: [4, 4, 4, 8], hidden: 8, seed: 3 });
const weights = (m: { stateDict(): Record<string, { f32(): Float32Array }> }) =>
  Object.entries(m.stateDict()).map(([k, t]) => [k, Array.from(t.f32())]);
const base: TrainPredictorOptions = { epochs: 1, batchSize: 2, seqLen: 6, lr: 3e-3, maxBatchesPerEpoch: 3, metricsFile: null, validationSplit: 0.34, callbacks: { onNote: () => {} } };

async function run(o: TrainPredictorOptions, vae = tinyVAE()) {
  const p = createPredictor(vae, { hiddenSize: 8, data: eps, seed: 4 });
  const r = await trainPredictor(p, vae, eps, { ...base, ...o });
  return { p, r };
}

describe('each remedy trains, logs its term and changes the predictor', () => {
  let plain: ReturnType<typeof weights>;
  beforeAll(async () => {
    plain = weights((await run({})).p);
  });
  const cases: [string, TrainPredictorOptions, string][] = [
    ['perceptual (probe trunk)', { perceptualWeight: 10, probe: tinyProbe(), perceptualFrames: 3 }, 'perceptual'],
    ['perceptual (encoder)', { perceptualWeight: 10, perceptualNetwork: 'encoder' }, 'perceptual'],
    ['adversarial', { adversarialWeight: 1, discLr: 1e-3, discSteps: 2 }, 'adversarial'],
    ['classification on latents', { classificationWeight: 1, classifierSteps: 20 }, 'classification'],
    ['classification on pixels', { classificationWeight: 1, classificationOn: 'pixels', probe: tinyProbe() }, 'classification'],
  ];
  test.each(cases)('%s', async (_name, o, key) => {
    const { p, r } = await run(o);
    const h = r.history[0];
    expect(Number.isFinite(h[key])).toBe(true);
    expect(h[key]).toBeGreaterThan(0);
    expect(Number.isFinite(h.latent)).toBe(true);
    if (key === 'adversarial') {
      expect(h.discAcc).toBeGreaterThanOrEqual(0);
      expect(h.discAcc).toBeLessThanOrEqual(1);
      expect(Number.isFinite(h.discLoss)).toBe(true);
    }
    // the term's gradient reached the predictor: its weights differ from the plain run's
    expect(weights(p)).not.toEqual(plain);
  });
});

test('a run with every remedy resumes bit-identically mid-epoch', async () => {
  const all: TrainPredictorOptions = { perceptualWeight: 1, perceptualFrames: 2, adversarialWeight: 0.5, classificationWeight: 0.5, classifierSteps: 10, epochs: 2, scheduledSampling: true };
  const probe = tinyProbe();
  const full = await run({ ...all, probe });
  const dir = tmp('resume');
  const signal = { stop: false };
  const vae = tinyVAE();
  const first = createPredictor(vae, { hiddenSize: 8, data: eps, seed: 4 });
  const r1 = await trainPredictor(first, vae, eps, { ...base, ...all, probe, checkpointDir: dir, signal, callbacks: { onNote: () => {}, onBatchEnd: (b) => { if (b === 1) signal.stop = true; } } });
  expect(r1.stopReason).toBe('interrupted');
  const ck = loadCheckpoint(dir);
  expect(Object.keys(ck.extraOptimizers)).toEqual(['discriminator']);
  expect(Object.keys(ck.weights).some((k) => k.startsWith('discriminator.'))).toBe(true);
  expect(Object.keys(ck.weights).some((k) => k.startsWith('classifier.'))).toBe(true);
  expect(ck.rng.remedies).toBeDefined();
  const rc = ck.config.remedies as { perceptualWeight: number; classifierAccuracy: { heads: string[]; train: number[]; heldOut: null } };
  expect(rc.perceptualWeight).toBe(1);
  // the judge's own accuracy is recorded (2 training episodes: no held-out one)
  expect(rc.classifierAccuracy.heads).toEqual(heads.map((h) => h.name));
  expect(rc.classifierAccuracy.train.every((a) => a >= 0 && a <= 1)).toBe(true);
  expect(rc.classifierAccuracy.heldOut).toBeNull();
  ck.dispose();
  const vae2 = tinyVAE();
  const second = createPredictor(vae2, { hiddenSize: 8, data: eps, seed: 4 });
  const r2 = await trainPredictor(second, vae2, eps, { ...base, ...all, probe, checkpointDir: dir, resume: true });
  expect(r2.stopReason).toBe('completed');
  expect(weights(second)).toEqual(weights(full.p));
  expect(r2.history.map((h) => h.discAcc)).toEqual(full.r.history.map((h) => h.discAcc));
});

test("the discriminator's health notes reach the predictor's run: overpowered and collapsed epochs are reported", () => {
  const vae = tinyVAE();
  const terms = new RemedyTerms('t', vae, [4, 4, 4], 3, eps, null, { adversarialWeight: 1 }, 0, 'cpu');
  const notes: string[] = [];
  terms.epochEnd(0, discriminatorStepLogs(0.995, 0.02), (m) => notes.push(m));
  terms.epochEnd(1, discriminatorStepLogs(0.5, 1.386), (m) => notes.push(m));
  terms.epochEnd(2, discriminatorStepLogs(0.72, 1.1), (m) => notes.push(m));
  expect(notes).toHaveLength(2);
  expect(notes[0]).toMatch(/discriminator overpowered in epoch 1: it told real from predicted latents .*mean 99\.5%/);
  expect(notes[1]).toMatch(/discriminator collapsed in epoch 2/);
  terms.dispose();
});

test('bad remedy options give clear errors', async () => {
  await expect(run({ perceptualWeight: 1 })).rejects.toThrow("trainPredictor: options.probe must be a SemanticProbe for perceptualNetwork 'probe'");
  await expect(run({ perceptualWeight: -1, perceptualNetwork: 'encoder' })).rejects.toThrow(/options.perceptualWeight/);
  await expect(run({ classificationWeight: 1, classificationOn: 'logits' as never })).rejects.toThrow(/options.classificationOn must be 'latent' or 'pixels'/);
  const unlabeled = eps.map((e) => ({ ...e, labels: undefined, labelDim: 0, labelHeads: undefined }));
  const vae = tinyVAE();
  const p = createPredictor(vae, { hiddenSize: 8, data: unlabeled, seed: 4 });
  await expect(trainPredictor(p, vae, unlabeled, { ...base, classificationWeight: 1 })).rejects.toThrow(/classificationWeight needs episodes with per-frame labels/);
});

test('the CLI trains with the remedies flags and resumes', async () => {
  const dir = tmp('cli');
  const lines: string[] = [];
  const io = { out: (s: string) => lines.push(s), err: (s: string) => lines.push(s), isTTY: false };
  const vae = tinyVAE();
  await trainVAE(vae, eps, { epochs: 1, batchSize: 8, maxBatchesPerEpoch: 1, checkpointDir: path.join(dir, 'vae'), metricsFile: null });
  const probeDir = path.join(dir, 'probe');
  saveSemanticProbe(probeDir, { probe: tinyProbe(), quality: { heads: [], trainFrames: 0, heldOutFrames: 0 } as never }, 'test');
  const args = ['train-predictor', '--vae', path.join(dir, 'vae'), '--episodes', '3', '--steps', '24', '--data-seed', '5', '--hidden_size', '8', '--seq_len', '6', '--batch_size', '2', '--epochs', '2',
    '--perceptual-weight', '1', '--perceptual_frames', '2', '--probe', probeDir, '--adversarial_weight', '0.5', '--disc_steps', '1', '--classification_weight', '0.5', '--validation_split', '0.34', '--out', path.join(dir, 'pred')];
  expect(await main([...args, '--epochs', '1'], io)).toBe(0);
  expect(await main([...args, '--resume'], io)).toBe(0);
  const ck = loadCheckpoint(path.join(dir, 'pred'));
  expect(ck.epoch).toBe(2);
  expect(Object.keys(ck.extraOptimizers)).toEqual(['discriminator']);
  ck.dispose();
  expect(await main(['train-predictor', '--vae', path.join(dir, 'vae'), '--classification_on', 'words', '--out', path.join(dir, 'x')], io)).toBe(2);
});

describe("the remedies on 'cuda' under the emulation", () => {
  const wk = require('../src');
  beforeAll(() => wk.useCudaEmulation(true));
  afterAll(() => wk.useCudaEmulation(false));
  test("every remedy at once gives the CPU's losses on 'cuda'", async () => {
    const small = generateEpisodes({ episodes: 2, steps: 12, seed: 6, cacheDir: false });
    const o: TrainPredictorOptions = {
      ...base, maxBatchesPerEpoch: 2, seqLen: 4, validationSplit: 0.5,
      perceptualWeight: 1, perceptualFrames: 2, adversarialWeight: 0.5, classificationWeight: 0.5, classifierSteps: 5, probe: undefined,
    };
    const losses: Record<string, number[]> = {};
    for (const device of ['cpu', 'cuda'] as const) {
      const vae = createVAE({ encoderChannels: [4, 4, 4, 4], latentShape: [2, 4, 4], seed: 2 });
      const p = createPredictor(vae, { hiddenSize: 4, data: small, seed: 4 });
      const probe = new SemanticProbe({ heads, channels: [2, 2, 2, 4], hidden: 4, seed: 3 });
      const r = await trainPredictor(p, vae, small, { ...o, probe, device });
      const h = r.history[0];
      losses[device] = [h.loss, h.latent, h.perceptual, h.adversarial, h.classification, h.discLoss];
      // trainPredictor freed what it made on the device (optimizer state, discriminator,
      // classifier); the caller's models are all that is left to free.
      for (const m of [vae, p, probe]) m.dispose();
    }
    losses.cpu.forEach((v, i) => {
      expect(Number.isFinite(v)).toBe(true);
      expect(Math.abs(losses.cuda[i] - v)).toBeLessThanOrEqual(1e-3 * Math.max(1, Math.abs(v)));
    });
  });
});
