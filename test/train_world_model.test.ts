/**
 * End-to-end joint training (trainWorldModel, issue 12): the VAE and the predictor trained
 * together on windows of frames. On a trivial dataset the objective falls within 20 steps;
 * frozen parts stay byte-identical; a run interrupted mid-epoch resumes bit-identical to an
 * uninterrupted one; the run folder opens with loadVAE / loadPredictor; one step on emulated
 * 'cuda' matches the CPU; bad options fail clearly; budgetMinutes plans and stops the run; the
 * remedies train end to end; the CLI (train-predictor --end_to_end) trains and resumes.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as wk from '../src';
import type { Episode } from '../src/data/episode';
import type { Module } from '../src/nn/module';
import { createVAE, trainVAE } from '../src/train/train_vae';
import { createPredictor } from '../src/train/train_predictor';
import { trainWorldModel, TrainWorldModelOptions } from '../src/train/train_world_model';
import { loadCheckpoint, CheckpointError } from '../src/train/checkpoint';
import { loadPredictor, loadVAE } from '../src/train/load';
import { generateEpisodes } from '../src/data';
import { main } from '../src/cli/main';

const tmpDirs: string[] = [];
const tmp = (name: string) => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `wk-e2e-${name}-`));
  tmpDirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

/** 16x16 gray frames of a bright 4x4 square moving one pixel right per frame (wrapping), with one action value (its speed). */
function episode(seed: number, length: number): Episode {
  const H = 16, W = 16;
  const frames = new Uint8Array(length * H * W);
  for (let t = 0; t < length; ++t) {
    const x0 = (seed * 3 + t) % W, y0 = (seed * 5) % (H - 4);
    for (let y = y0; y < y0 + 4; ++y) for (let dx = 0; dx < 4; ++dx) frames[(t * H + y) * W + ((x0 + dx) % W)] = 230;
  }
  // one label: the square's horizontal quarter
  const labels = Int32Array.from({ length }, (_, t) => Math.floor(((seed * 3 + t) % W) / 4));
  return { length, height: H, width: W, channels: 1, frames, actionDim: 1, actions: new Float32Array(length).fill(1), labelDim: 1, labels };
}
const data = () => [episode(0, 12), episode(1, 12), episode(2, 12), episode(3, 8)];
const vaeOpts = { inputShape: [1, 16, 16] as [number, number, number], encoderChannels: [4, 8], latentShape: [2, 4, 4] as [number, number, number], beta: 0.1, seed: 3 };
const model = () => {
  const vae = createVAE(vaeOpts);
  const predictor = createPredictor(vae, { hiddenSize: 16, data: data(), seed: 4 });
  return { vae, predictor };
};
const bytes = (m: Module): Record<string, number[]> => Object.fromEntries(Object.entries(m.stateDict()).map(([k, t]) => [k, Array.from(new Uint8Array(t.toFloat32Array().slice().buffer))]));
const pick = (b: Record<string, number[]>, prefix: string) => Object.fromEntries(Object.entries(b).filter(([k]) => k.startsWith(prefix)));

/** Every batch's logged numbers (stepMs left out). */
function batchLog() {
  const rows: Record<string, number>[] = [];
  return {
    rows,
    callbacks: {
      onBatchEnd: (_b: number, l: Record<string, number>) => {
        const { stepMs: _ms, ...rest } = l;
        rows.push(rest);
      },
      onNote: () => {},
    },
  };
}

const base: TrainWorldModelOptions = { batchSize: 2, seqLen: 4, lr: 3e-3, vaeLr: 2e-3, seed: 1, metricsFile: null };

test('the objective falls within 20 steps on a trivial dataset; every part moves; the run folder opens with loadVAE / loadPredictor', async () => {
  const { vae, predictor } = model();
  const before = bytes(vae), pBefore = bytes(predictor);
  const log = batchLog();
  const dir = tmp('fall');
  const r = await trainWorldModel(vae, predictor, data(), { ...base, lr: 1e-2, vaeLr: 1e-2, epochs: 20, maxBatchesPerEpoch: 1, validationSplit: 0.25, checkpointDir: dir, callbacks: log.callbacks });
  expect(r.step).toBe(20);
  const loss = log.rows.map((x) => x.loss);
  const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
  expect(mean(loss.slice(-3))).toBeLessThan(0.5 * mean(loss.slice(0, 3)));
  // the logged parts add up to the loss: latent + (recon + beta kl) + pixel
  const row = log.rows[5];
  expect(row.loss).toBeCloseTo(row.latent + row.recon + 0.1 * row.kl + row.pixel, 3);
  for (const k of ['valLoss', 'valRecon', 'valKl', 'valLatent', 'valPixel', 'valOpenLoop', 'valPixelMse']) expect(Number.isFinite(r.history[19][k])).toBe(true);
  expect(r.history[19].valLoss).toBeLessThan(r.history[0].valLoss);
  // encoder, decoder and predictor all changed
  const after = bytes(vae);
  expect(pick(after, 'encoder.')).not.toEqual(pick(before, 'encoder.'));
  expect(pick(after, 'decoder.')).not.toEqual(pick(before, 'decoder.'));
  expect(bytes(predictor)).not.toEqual(pBefore);
  const ck = loadCheckpoint(dir);
  expect(ck.kind).toBe('world_model');
  expect(Object.keys(ck.extraOptimizers)).toEqual(['vae']);
  ck.dispose();
  expect(bytes(loadVAE(dir))).toEqual(after);
  expect(bytes(loadPredictor(dir))).toEqual(bytes(predictor));
});

test('frozen parts stay byte-identical; the others train', async () => {
  const a = model();
  const v0 = bytes(a.vae);
  const pa = bytes(a.predictor);
  await trainWorldModel(a.vae, a.predictor, data(), { ...base, epochs: 1, maxBatchesPerEpoch: 3, freeze: ['encoder', 'decoder'] });
  expect(bytes(a.vae)).toEqual(v0);
  expect(bytes(a.predictor)).not.toEqual(pa);
  const b = model();
  const vb = bytes(b.vae), pb = bytes(b.predictor);
  await trainWorldModel(b.vae, b.predictor, data(), { ...base, epochs: 1, maxBatchesPerEpoch: 3, freeze: ['predictor', 'encoder'] });
  const after = bytes(b.vae);
  expect(bytes(b.predictor)).toEqual(pb);
  for (const k of ['encoder.', 'mu.', 'logvar.']) expect(pick(after, k)).toEqual(pick(vb, k));
  expect(pick(after, 'decoder')).not.toEqual(pick(vb, 'decoder'));
  // a VAE frozen by an earlier trainer (trainPredictor freezes it) is trained again when not named
  const c = model();
  c.vae.freeze();
  const vc = bytes(c.vae);
  await trainWorldModel(c.vae, c.predictor, data(), { ...base, epochs: 1, maxBatchesPerEpoch: 2 });
  expect(pick(bytes(c.vae), 'encoder.')).not.toEqual(pick(vc, 'encoder.'));
});

test('interrupted mid-epoch and resumed: bit-identical to an uninterrupted run (scheduled sampling, noise, jitter, cosine)', async () => {
  const opts: TrainWorldModelOptions = {
    ...base, epochs: 2, maxBatchesPerEpoch: 4, lrSchedule: 'cosine', scheduledSampling: true, samplingSchedule: { decay: 'constant', start: 0.5 },
    inputNoiseStd: 0.02, targetJitterScale: 0.01, gradClip: 5, validationSplit: 0.25,
  };
  const full = model();
  const rf = await trainWorldModel(full.vae, full.predictor, data(), { ...opts, checkpointDir: tmp('full') });
  const dir = tmp('part');
  const signal = { stop: false };
  const p1 = model();
  const r1 = await trainWorldModel(p1.vae, p1.predictor, data(), { ...opts, checkpointDir: dir, signal, callbacks: { onBatchEnd: (_b, l) => { if (l.step === 3) signal.stop = true; } } });
  expect(r1.stopReason).toBe('interrupted');
  expect(r1.step).toBe(3);
  // resumed into fresh models; vaeLr and the weights come from the call and the checkpoint
  const p2 = model();
  const r2 = await trainWorldModel(p2.vae, p2.predictor, data(), { ...opts, checkpointDir: dir, resume: true });
  expect(r2.step).toBe(8);
  expect(bytes(p2.vae)).toEqual(bytes(full.vae));
  expect(bytes(p2.predictor)).toEqual(bytes(full.predictor));
  expect(r2.history).toEqual(rf.history);
  // resuming with another freeze list is refused, naming both
  await expect(trainWorldModel(model().vae, model().predictor, data(), { ...opts, checkpointDir: dir, resume: true, freeze: ['encoder'] })).rejects.toThrow(CheckpointError);
  await expect(trainWorldModel(model().vae, model().predictor, data(), { ...opts, checkpointDir: dir, resume: true, freeze: ['encoder'] })).rejects.toThrow(/froze \[\], this one asks for \[encoder\]/);
});

test('bad options fail clearly before training', async () => {
  const { vae, predictor } = model();
  const go = (o: Record<string, unknown>) => trainWorldModel(vae, predictor, data(), { ...base, epochs: 1, ...o } as TrainWorldModelOptions);
  await expect(go({ freeze: ['vae'] })).rejects.toThrow(`trainWorldModel: options.freeze must be an array of 'encoder', 'decoder', 'predictor', got`);
  await expect(go({ freeze: 'encoder' })).rejects.toThrow(TypeError);
  await expect(go({ freeze: ['encoder', 'decoder', 'predictor'] })).rejects.toThrow(/names every part .*nothing would be trained/);
  await expect(go({ vaeLr: -1 })).rejects.toThrow('trainWorldModel: options.vaeLr must be a finite number >= 0, got -1');
  await expect(go({ pixelWeight: NaN })).rejects.toThrow('trainWorldModel: options.pixelWeight must be a finite number >= 0, got NaN');
  await expect(go({ reconWeight: -0.5 })).rejects.toThrow(/options.reconWeight must be a finite number >= 0/);
  await expect(go({ burnIn: 4 })).rejects.toThrow('trainWorldModel: options.burnIn must be in [0, seqLen - 1] = [0, 3]');
  await expect(go({ seqLen: 40 })).rejects.toThrow(/no training window of 40 frames/);
  await expect(go({ latents: [] })).rejects.toThrow(/options.latents cannot be used/);
  await expect(go({ extraTerms: 3 })).rejects.toThrow('trainWorldModel: options.extraTerms must be a function');
  await expect(trainWorldModel(vae, createPredictor({ latentShape: [3, 4, 4] }, { hiddenSize: 4, actionSize: 0 }), data(), base)).rejects.toThrow(/differs from the VAE's/);
  await expect(trainWorldModel({} as never, predictor, data(), base)).rejects.toThrow('trainWorldModel: vae must be a ConvVAE');
  await expect(trainWorldModel(createVAE({ ...vaeOpts, inputShape: [3, 16, 16] }), predictor, data(), base)).rejects.toThrow(/inputShape/);
  // a refused call leaves the models' frozen flags as they were
  vae.freeze();
  await expect(go({ seqLen: 40 })).rejects.toThrow(RangeError);
  expect(vae.isFrozen).toBe(true);
});

test('extraTerms (the remedies hook) add to the objective and are logged', async () => {
  const { vae, predictor } = model();
  const log = batchLog();
  const seen: boolean[] = [];
  const r = await trainWorldModel(vae, predictor, data(), {
    ...base, epochs: 1, maxBatchesPerEpoch: 2, validationSplit: 0.25, callbacks: log.callbacks,
    extraTerms: (t) => {
      seen.push(t.training);
      // the latent targets are stop-gradient; the encoder's means carry gradients (in training)
      expect(t.targetLatents.requiresGrad).toBe(false);
      if (t.training) expect(t.mu.requiresGrad).toBe(true);
      expect(t.predImages!.shape).toEqual([t.batch * (t.seqLen - 1), 1, 16, 16]);
      return { extra: wk.mul(wk.mseLoss(t.predImages!, t.realImages), 2) };
    },
  });
  expect(seen).toContain(true);
  expect(seen).toContain(false);
  const row = log.rows[0];
  expect(row.loss).toBeCloseTo(row.latent + row.recon + 0.1 * row.kl + row.pixel + row.extra, 3);
  expect(r.history[0].valExtra).toBeGreaterThan(0);
});

test('budgetMinutes plans the steps from the step time and stops at the budget (injected clock)', async () => {
  const { vae, predictor } = model();
  const c = { t: 0 };
  // steps "take" 1 s, validations 2 s: a 0.5-minute budget holds about 30 - 2 x epochs steps
  const r = await trainWorldModel(vae, predictor, data(), {
    ...base, budgetMinutes: 0.5, clock: () => c.t, lrSchedule: 'cosine', validationSplit: 0.25,
    callbacks: { onBatchEnd: () => { c.t += 1000; }, onEpochEnd: () => { c.t += 2000; }, onNote: () => {} },
  });
  expect(r.stopReason).toBe('budget');
  expect(r.step).toBe(r.budget!.plannedSteps);
  expect(c.t).toBeLessThanOrEqual(30000);
  expect(c.t).toBeGreaterThan(30000 - 3000);
  expect(r.history[r.history.length - 1].lr).toBeCloseTo(3e-3 * 0.05, 9); // the cosine ran to its end
});

test('remedies end to end (adversarial, classification on latents): logged, the classifier keeps learning, resume bit-identical', async () => {
  const opts: TrainWorldModelOptions = { ...base, epochs: 2, maxBatchesPerEpoch: 3, validationSplit: 0.25, adversarialWeight: 0.1, classificationWeight: 0.5, classifierSteps: 20 };
  const full = model();
  const log = batchLog();
  const dirF = tmp('rem-full');
  const rf = await trainWorldModel(full.vae, full.predictor, data(), { ...opts, checkpointDir: dirF, callbacks: log.callbacks });
  for (const k of ['adversarial', 'discLoss', 'discAcc', 'classification', 'classifierFit']) expect(Number.isFinite(log.rows[0][k])).toBe(true);
  const ck = loadCheckpoint(dirF);
  expect(Object.keys(ck.extraOptimizers).sort()).toEqual(['classifier', 'discriminator', 'vae']);
  const arrays = (w: Record<string, { toFloat32Array(): Float32Array }>) => Object.fromEntries(Object.entries(w).map(([k, t]) => [k, Array.from(t.toFloat32Array())]));
  const clf1 = arrays(ck.moduleWeights('classifier'));
  ck.dispose();
  // the classifier moved after its fit: the checkpoint after 3 steps differs from the one after 6
  const dir = tmp('rem-part');
  const signal = { stop: false };
  const p1 = model();
  await trainWorldModel(p1.vae, p1.predictor, data(), { ...opts, checkpointDir: dir, signal, callbacks: { onBatchEnd: (_b, l) => { if (l.step === 2) signal.stop = true; }, onNote: () => {} } });
  const ck2 = loadCheckpoint(dir);
  const clf2 = arrays(ck2.moduleWeights('classifier'));
  ck2.dispose();
  expect(Object.keys(clf2).length).toBeGreaterThan(0);
  expect(clf2).not.toEqual(clf1);
  const p2 = model();
  const r2 = await trainWorldModel(p2.vae, p2.predictor, data(), { ...opts, checkpointDir: dir, resume: true, callbacks: { onNote: () => {} } });
  expect(bytes(p2.vae)).toEqual(bytes(full.vae));
  expect(bytes(p2.predictor)).toEqual(bytes(full.predictor));
  expect(r2.history).toEqual(rf.history);
});

test("the perceptual term with the encoder as feature network needs the encoder frozen; then the decoder learns from it", async () => {
  const { vae, predictor } = model();
  await expect(trainWorldModel(vae, predictor, data(), { ...base, epochs: 1, perceptualWeight: 1, perceptualNetwork: 'encoder' })).rejects.toThrow(/perceptualNetwork 'encoder' needs options.freeze to include 'encoder'/);
  const before = bytes(vae);
  const log = batchLog();
  await trainWorldModel(vae, predictor, data(), { ...base, epochs: 1, maxBatchesPerEpoch: 2, perceptualWeight: 1, perceptualNetwork: 'encoder', perceptualFrames: 4, freeze: ['encoder'], reconWeight: 0, pixelWeight: 0, callbacks: log.callbacks });
  expect(log.rows[0].perceptual).toBeGreaterThan(0);
  expect(log.rows[0].loss).toBeCloseTo(log.rows[0].latent + log.rows[0].perceptual, 4);
  const after = bytes(vae);
  expect(pick(after, 'encoder.')).toEqual(pick(before, 'encoder.'));
  // with recon and pixel terms off, only the perceptual term reaches the decoder
  expect(pick(after, 'decoder')).not.toEqual(pick(before, 'decoder'));
});

describe("on emulated 'cuda'", () => {
  beforeAll(() => wk.useCudaEmulation(true));
  test("two steps (scheduled sampling) give the CPU's losses and weights within 1e-4", async () => {
    const opts: TrainWorldModelOptions = { ...base, epochs: 1, maxBatchesPerEpoch: 2, scheduledSampling: true, samplingSchedule: { decay: 'constant', start: 0.5 }, validationSplit: 0.25 };
    const c = model(), g = model();
    const lc = batchLog(), lg = batchLog();
    const rc = await trainWorldModel(c.vae, c.predictor, data(), { ...opts, callbacks: lc.callbacks });
    const rg = await trainWorldModel(g.vae, g.predictor, data(), { ...opts, device: 'cuda', callbacks: lg.callbacks });
    expect(new Set(g.vae.parameters().map((p) => p.device))).toEqual(new Set(['cuda']));
    expect(lg.rows.length).toBe(2);
    const close = (a: number, b: number, what: string) => {
      if (!(Math.abs(a - b) <= 1e-4 * Math.max(1, Math.abs(b)))) throw new Error(`${what}: ${a} vs ${b}`);
    };
    lg.rows.forEach((row, i) => Object.entries(lc.rows[i]).forEach(([k, v]) => close(row[k], v, `batch ${i} ${k}`)));
    Object.entries(rc.history[0]).forEach(([k, v]) => close(rg.history[0][k], v, `epoch ${k}`));
    const wc = c.vae.stateDict();
    for (const [k, t] of Object.entries(g.vae.stateDict())) {
      const a = t.toFloat32Array(), b = wc[k].toFloat32Array();
      a.forEach((v, i) => close(v, b[i], `vae ${k}[${i}]`));
    }
  });
});

describe('CLI: train-predictor --end_to_end', () => {
  async function cli(...argv: string[]) {
    const out: string[] = [], err: string[] = [];
    const code = await main(argv, { out: (s) => out.push(s), err: (s) => err.push(s), isTTY: false });
    return { code, out: out.join('\n'), err };
  }
  const sim = ['--data', 'sim', '--episodes', '3', '--steps', '10', '--data_seed', '2'];

  test('trains a few steps, resumes, and the run opens as a VAE and a predictor; bad flags are usage errors', async () => {
    const vaeDir = tmp('cli-vae');
    const vae = createVAE({ encoderChannels: [4, 8, 8, 8], latentShape: [4, 4, 4], seed: 1 });
    await trainVAE(vae, generateEpisodes({ episodes: 3, steps: 10, seed: 2, cacheDir: false }), { epochs: 1, batchSize: 8, maxBatchesPerEpoch: 1, checkpointDir: vaeDir, metricsFile: null });
    const out = path.join(tmp('cli-run'), 'wm');
    const flags = [...sim, '--vae', vaeDir, '--out', out, '--hidden_size', '8', '--seq_len', '4', '--batch_size', '2', '--end_to_end', '--vae_lr', '1e-4', '--freeze', 'decoder', '--pixel_weight', '0.5', '--adversarial_weight', '0.05'];
    const r1 = await cli('train-predictor', ...flags, '--epochs', '1');
    expect(r1.err).toEqual([]);
    expect(r1.code).toBe(0);
    expect(r1.out).toMatch(/end-to-end/);
    const ck1 = loadCheckpoint(out);
    expect(ck1.kind).toBe('world_model');
    const t1 = ck1.config.training as Record<string, unknown>;
    expect([t1.vaeLr, t1.freeze, t1.pixelWeight, t1.reconWeight, t1.adversarialWeight]).toEqual([1e-4, ['decoder'], 0.5, 1, 0.05]);
    expect(Object.keys(ck1.extraOptimizers).sort()).toEqual(['discriminator', 'vae']);
    const step1 = ck1.step;
    ck1.dispose();
    // resume with only --resume and a longer run: the run's end-to-end settings come from the checkpoint
    const r2 = await cli('train-predictor', ...sim, '--out', out, '--hidden_size', '8', '--seq_len', '4', '--batch_size', '2', '--end_to_end', '--adversarial_weight', '0.05', '--resume', '--epochs', '2');
    expect(r2.err).toEqual([]);
    expect(r2.code).toBe(0);
    expect(r2.out).toMatch(/resuming at epoch 2/);
    const ck2 = loadCheckpoint(out);
    expect(ck2.step).toBe(2 * step1);
    expect((ck2.config.training as Record<string, unknown>).freeze).toEqual(['decoder']);
    ck2.dispose();
    expect(loadVAE(out).latentShape).toEqual([4, 4, 4]);
    expect(loadPredictor(out).hiddenSize).toBe(8);
    // bad flags
    const bad = await cli('train-predictor', ...flags, '--freeze', 'decoder,vae');
    expect(bad.code).toBe(2);
    expect(bad.err[0]).toMatch(/--freeze: .*'vae'.*encoder, decoder, predictor/);
    const judge = await cli('train-predictor', ...flags, '--perceptual_weight', '1', '--perceptual_network', 'encoder');
    expect(judge.code).toBe(2);
    expect(judge.err[0]).toMatch(/--perceptual_network encoder with --end_to_end needs --freeze encoder/);
    const lone = await cli('train-predictor', ...sim, '--vae', vaeDir, '--out', out, '--vae_lr', '1e-4');
    expect(lone.code).toBe(2);
    expect(lone.err[0]).toMatch(/--vae_lr needs --end_to_end/);
  });
});
