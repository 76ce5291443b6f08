/**
 * Training, checkpoints, resume, rollouts, evaluation and the training CLI commands (issue 7).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawn } from 'child_process';
import { generateEpisodes } from '../src/data';
import { createVAE, trainVAE } from '../src/train/train_vae';
import { createPredictor, trainPredictor } from '../src/train/train_predictor';
import { loadCheckpoint, latestCheckpoint, CheckpointError } from '../src/train/checkpoint';
import { loadPredictor, loadVAE } from '../src/train/load';
import { pTrueAt } from '../src/train/sampling_schedule';
import { makeSchedule, epochOrder } from '../src/train/loop';
import { readMetricsLog } from '../src/train/metrics_log';
import { runDemo } from '../src/train/demo';
import { main } from '../src/cli/main';
import { memory } from '../src/tensor/memory';
import { LatentPredictor } from '../src/models/latent_predictor';
import { rememberConfig } from '../src/train/train_vae';
import { openLoopRollout, closedLoopRollout } from '../src/rollout/index';
import { movingMnist, movingMnistEpisodes } from '../src/data/moving_mnist';
import { CollapseMonitor } from '../src/train/collapse';

const tmpDirs: string[] = [];
const tmp = (name: string) => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `wk-train-${name}-`));
  tmpDirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});
const eps = () => generateEpisodes({ episodes: 4, steps: 40, seed: 3, cacheDir: false });
const tinyVAE = () => createVAE({ encoderChannels: [4, 8, 8, 16], latentShape: [4, 4, 4], seed: 2 });
const weightsOf = (m: { stateDict(): Record<string, { f32(): Float32Array }> }) =>
  Object.fromEntries(Object.entries(m.stateDict()).map(([k, t]) => [k, Array.from(t.f32())]));

describe('schedules and decays', () => {
  test('LR schedules give the documented values', () => {
    const cos = makeSchedule('t', { lrSchedule: 'cosine', lr: 1, minLrFactor: 0.1 }, 2, 50); // 100 steps, floor 0.1
    expect(cos(0, 1)).toBeCloseTo(1, 12);
    expect(cos(50, 1)).toBeCloseTo(0.1 + 0.9 * 0.5, 12);
    expect(cos(100, 1)).toBeCloseTo(0.1, 12);
    const st = makeSchedule('t', { lrSchedule: 'step', lrStepEpochs: 1, lrGamma: 0.5 }, 3, 10);
    expect([st(0, 1), st(9, 1), st(10, 1), st(25, 1)]).toEqual([1, 1, 0.5, 0.25]);
    expect(makeSchedule('t', {}, 3, 10)(17, 0.3)).toBe(0.3);
    const warm = makeSchedule('t', { lrSchedule: 'cosine', lr: 1, warmupSteps: 4 }, 1, 20);
    expect(warm(0, 1)).toBeCloseTo(0.25, 12);
    expect(warm(3, 1)).toBeCloseTo(1, 12);
  });
  test('pTrue decays give the documented values', () => {
    expect(pTrueAt({ decay: 'linear', start: 1, end: 0.25 }, 0, 5)).toBe(1);
    expect(pTrueAt({ decay: 'linear', start: 1, end: 0.25 }, 2, 5)).toBeCloseTo(0.625, 12);
    expect(pTrueAt({ decay: 'linear', start: 1, end: 0.25 }, 4, 5)).toBeCloseTo(0.25, 12);
    expect(pTrueAt({ decay: 'exponential', start: 1, end: 0.1 }, 0, 3)).toBeCloseTo(1, 12);
    expect(pTrueAt({ decay: 'exponential', start: 1, end: 0.1 }, 1, 3)).toBeCloseTo(Math.sqrt(0.1), 9);
    expect(pTrueAt({ decay: 'exponential', start: 1, end: 0.1 }, 2, 3)).toBeCloseTo(0.1, 9);
    expect(pTrueAt({ decay: 'inverse-sigmoid', start: 1, end: 0 }, 0, 10)).toBeCloseTo(1, 12);
    expect(pTrueAt({ decay: 'inverse-sigmoid', start: 1, end: 0 }, 9, 10)).toBeCloseTo(0, 12);
    expect(pTrueAt({ decay: 'constant', start: 0.7 }, 5, 10)).toBe(0.7);
  });
  test('epoch order is a pure function of seed and epoch', () => {
    expect(epochOrder(5, 3, 20)).toEqual(epochOrder(5, 3, 20));
    expect(epochOrder(5, 3, 20)).not.toEqual(epochOrder(5, 4, 20));
  });
});

describe('resume is bit-identical', () => {
  const data = eps();
  test('VAE: 2 epochs in one go == 1 epoch + resume + 1 epoch (and mid-epoch interrupt)', async () => {
    const opts = { epochs: 2, batchSize: 16, lr: 2e-3, lrSchedule: 'cosine' as const, seed: 4, maxBatchesPerEpoch: 4 };
    const a = tinyVAE();
    await trainVAE(a, data, { ...opts, checkpointDir: tmp('vae-a') });
    const dirB = tmp('vae-b');
    const b1 = tinyVAE();
    const r1 = await trainVAE(b1, data, { ...opts, checkpointDir: dirB, callbacks: { onEpochEnd: () => false } });
    expect(r1.stopReason).toBe('callback');
    const b2 = tinyVAE();
    const r2 = await trainVAE(b2, data, { ...opts, checkpointDir: dirB, resume: true });
    expect(r2.step).toBe(8);
    expect(weightsOf(b2)).toEqual(weightsOf(a));
    // Interrupted mid-epoch (signal after the 3rd batch), then resumed.
    const dirC = tmp('vae-c');
    const signal = { stop: false };
    const c1 = tinyVAE();
    const rc = await trainVAE(c1, data, { ...opts, checkpointDir: dirC, signal, callbacks: { onBatchEnd: (_b, l) => { if (l.step === 3) signal.stop = true; } } });
    expect(rc.stopReason).toBe('interrupted');
    expect(loadCheckpoint(dirC).batch).toBe(3);
    const c2 = tinyVAE();
    await trainVAE(c2, data, { ...opts, checkpointDir: dirC, resume: true });
    expect(weightsOf(c2)).toEqual(weightsOf(a));
    const log = readMetricsLog(path.join(dirC, 'metrics.jsonl'));
    expect(log.filter((r) => r.kind === 'batch').map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });
  test('predictor with scheduled sampling, noise and jitter: 2 epochs == 1 + resume + 1', async () => {
    const vae = tinyVAE();
    const opts = { epochs: 2, batchSize: 4, lr: 1e-3, seed: 5, seqLen: 8, scheduledSampling: true, inputNoiseStd: 0.01, targetJitterScale: 0.005, lrSchedule: 'step' as const, gradClip: 1 };
    const mk = () => createPredictor(vae, { hiddenSize: 16, residualPrediction: true, useActions: true, seed: 6 });
    const a = mk();
    const ra = await trainPredictor(a, vae, data, { ...opts, checkpointDir: tmp('p-a') });
    expect(ra.history[1].pTrue).toBeCloseTo(0.25, 12);
    const dir = tmp('p-b');
    await trainPredictor(mk(), vae, data, { ...opts, checkpointDir: dir, callbacks: { onEpochEnd: () => false } });
    const b = mk();
    await trainPredictor(b, vae, data, { ...opts, checkpointDir: dir, resume: true });
    expect(weightsOf(b)).toEqual(weightsOf(a));
    const loaded = loadPredictor(dir);
    expect(weightsOf(loaded)).toEqual(weightsOf(a));
  });
});

describe('predictor defaults (issue 18)', () => {
  test('createPredictor: without actions actionSize reads 0; defaults come from the data; documented defaults otherwise', () => {
    const vae = tinyVAE();
    const off = createPredictor(vae, { hiddenSize: 8, useActions: false });
    expect([off.useActions, off.actionSize]).toEqual([false, 0]);
    // an actionSize given with useActions false (as the CLI does) still reads 0: there is no action input
    expect(createPredictor(vae, { hiddenSize: 8, useActions: false, actionSize: 3 }).actionSize).toBe(0);
    expect(createPredictor(vae, { hiddenSize: 8, actionSize: 0 }).useActions).toBe(false);
    const def = createPredictor(vae, { hiddenSize: 8 });
    expect([def.useActions, def.actionSize, def.residual, def.numLayers]).toEqual([true, 3, true, 1]);
    const noActs = eps().map((e) => ({ ...e, actionDim: 0, actions: new Float32Array(0) }));
    const fromData = createPredictor(vae, { hiddenSize: 8, data: noActs });
    expect([fromData.useActions, fromData.actionSize]).toEqual([false, 0]);
    const withActs = createPredictor(vae, { hiddenSize: 8, data: eps().map((e) => ({ ...e, actionDim: 1, actions: new Float32Array(e.length) })) });
    expect([withActs.useActions, withActs.actionSize]).toEqual([true, 1]);
    expect(() => createPredictor(vae, { hiddenSize: 8, data: noActs, useActions: true })).toThrow(/createPredictor: useActions is true but the episodes of options.data carry no actions/);
    expect(() => createPredictor(vae, { hiddenSize: 8, data: eps(), actionSize: 2 })).toThrow(/createPredictor: actionSize is 2 but the episodes of options.data have 3 action values/);
    // same weights as before: the LSTM's input never included actions when they were off
    const old = new LatentPredictor({ latentShape: [4, 4, 4], actionSize: 3, useActions: false, hiddenSize: 8 });
    expect(old.actionSize).toBe(0);
    expect(weightsOf(old)).toEqual(weightsOf(off));
  });

  test('a predictor without actions trains, rolls out, and one saved the old way (actionSize 3, useActions false) still loads', async () => {
    const vae = tinyVAE();
    const noActs = eps().map((e) => ({ ...e, actionDim: 0, actions: new Float32Array(0) }));
    const p = createPredictor(vae, { hiddenSize: 8, data: noActs, seed: 3 });
    const r = await trainPredictor(p, vae, noActs, { epochs: 1, batchSize: 4, seqLen: 6, seed: 1, maxBatchesPerEpoch: 2, scheduledSampling: true, samplingSchedule: { decay: 'constant', start: 0.5 } });
    expect(Number.isFinite(r.history[0].loss)).toBe(true);
    const ep = noActs[0];
    const roll = openLoopRollout(p, vae, { frames: ep.frames, context: 3, horizon: 4 });
    expect(roll.predLatents.length).toBe(4 * p.latentSize);
    expect(closedLoopRollout(p, vae, { seed: 1, context: 2, horizon: 2 }).dreamFrames.length).toBe(2 * 64 * 64 * 3);
    // A checkpoint whose config says actionSize 3 with useActions false (what createPredictor
    // wrote before): it loads, reads actionSize 0, keeps its weights and rolls out without actions.
    const cfg = { latentShape: [4, 4, 4], actionSize: 3, hiddenSize: 8, numLayers: 1, residual: true, useActions: false, inputNoiseStd: 0, targetJitterScale: 0, seed: 3 };
    const legacy = new LatentPredictor(cfg);
    rememberConfig(legacy, { ...cfg });
    const dir = tmp('legacy');
    await trainPredictor(legacy, vae, eps(), { epochs: 1, batchSize: 4, seqLen: 6, seed: 1, maxBatchesPerEpoch: 2, checkpointDir: dir });
    expect((loadCheckpoint(dir).config.predictor as { actionSize: number }).actionSize).toBe(3);
    const loaded = loadPredictor(dir);
    expect([loaded.useActions, loaded.actionSize]).toEqual([false, 0]);
    expect(weightsOf(loaded)).toEqual(weightsOf(legacy));
    const e0 = eps()[0];
    const a = openLoopRollout(loaded, vae, { frames: e0.frames, actions: e0.actions, context: 3, horizon: 4 }).predLatents;
    expect(openLoopRollout(loaded, vae, { frames: e0.frames, context: 3, horizon: 4 }).predLatents).toEqual(a);
    // and a resume of it continues
    const again = new LatentPredictor(cfg);
    rememberConfig(again, { ...cfg });
    const rr = await trainPredictor(again, vae, eps(), { epochs: 2, batchSize: 4, seqLen: 6, seed: 1, maxBatchesPerEpoch: 2, checkpointDir: dir, resume: true });
    expect(rr.step).toBe(4);
    // a predictor with actions still needs them, and says so
    const withA = createPredictor(vae, { hiddenSize: 8 });
    expect(() => openLoopRollout(withA, vae, { frames: e0.frames, context: 3, horizon: 4 })).toThrow(/openLoopRollout: input.actions must be a Float32Array of \[context \+ horizon - 1, 3\] actions/);
    await expect(trainPredictor(withA, vae, noActs, { epochs: 1 })).rejects.toThrow(/the episodes have 0 action values per frame, the predictor expects 3 \(build it with createPredictor\(vae, \{ data \}\)/);
  });
});

describe('scheduled sampling burn-in (issue 18)', () => {
  test('trainPredictor burnIn = seqLen-1 trains exactly as teacher forcing; burnIn 0 exactly as before; out of range is refused', async () => {
    const vae = tinyVAE();
    const data = eps();
    const opts = { epochs: 2, batchSize: 4, lr: 1e-3, seed: 5, seqLen: 6, inputNoiseStd: 0.01, targetJitterScale: 0.005, maxBatchesPerEpoch: 3 };
    const mk = () => createPredictor(vae, { hiddenSize: 8, seed: 6 });
    const tf = mk();
    const rTf = await trainPredictor(tf, vae, data, opts);
    const burn = mk();
    const rBurn = await trainPredictor(burn, vae, data, { ...opts, scheduledSampling: true, samplingSchedule: { decay: 'constant', start: 0.2 }, burnIn: 5 });
    expect(weightsOf(burn)).toEqual(weightsOf(tf));
    expect(rBurn.history.map((h) => h.loss)).toEqual(rTf.history.map((h) => h.loss));
    // burnIn 0 (the default) and a shorter burn-in: the default's results, and a different run
    const ss = { ...opts, scheduledSampling: true, samplingSchedule: { decay: 'constant' as const, start: 0.2 } };
    const a = mk(), b = mk(), c = mk();
    await trainPredictor(a, vae, data, ss);
    await trainPredictor(b, vae, data, { ...ss, burnIn: 0 });
    await trainPredictor(c, vae, data, { ...ss, burnIn: 3 });
    expect(weightsOf(b)).toEqual(weightsOf(a));
    expect(weightsOf(c)).not.toEqual(weightsOf(a));
    await expect(trainPredictor(mk(), vae, data, { ...opts, burnIn: 6 })).rejects.toThrow(/trainPredictor: options.burnIn must be in \[0, seqLen - 1\] = \[0, 5\].*got 6/);
    await expect(trainPredictor(mk(), vae, data, { ...opts, burnIn: -1 })).rejects.toThrow(/trainPredictor: options.burnIn must be an integer >= 0, got -1/);
  });

  test('CLI --burn_in / --burn-in reaches the trainer (saved with the run) and is checked', async () => {
    const vdir = tmp('burn-vae');
    await trainVAE(tinyVAE(), eps(), { epochs: 1, batchSize: 16, seed: 1, maxBatchesPerEpoch: 1, checkpointDir: vdir });
    const io = () => {
      const out: string[] = [], err: string[] = [];
      return { out, err, io: { out: (s: string) => out.push(s), err: (s: string) => err.push(s), isTTY: false } };
    };
    const base = ['--vae', vdir, '--episodes', '4', '--steps', '40', '--epochs', '1', '--batch_size', '8', '--hidden_size', '8', '--seq_len', '6', '--scheduled_sampling'];
    for (const flag of ['--burn_in', '--burn-in']) {
      const out = tmp('burn-p');
      const r = io();
      expect(await main(['train-predictor', ...base, flag, '3', '--out', out], r.io)).toBe(0);
      expect((loadCheckpoint(out).config.training as { burnIn: number }).burnIn).toBe(3);
    }
    const r = io();
    expect(await main(['train-predictor', ...base, '--burn_in', '6', '--out', tmp('burn-bad')], r.io)).not.toBe(0);
    expect(r.err.join('\n')).toMatch(/burnIn must be in \[0, seqLen - 1\] = \[0, 5\]/);
    const help = io();
    await main(['train-predictor', '--help'], help.io);
    expect(help.out.join('\n')).toContain('--burn_in');
  });
});

describe('VAE collapse detection (issue 18)', () => {
  // Tiny Moving MNIST: 16 sequences of 10 frames (sparse white digits on black).
  const mnist = movingMnistEpisodes(movingMnist({ count: 16, frames: 10, seed: 1 }), { channels: 3 });
  const mnistVAE = (o: { beta: number; reconLoss: 'mse' | 'bce' }) => createVAE({ encoderChannels: [8, 16, 16, 32], latentShape: [8, 4, 4], seed: 2, ...o });
  const base = { batchSize: 16, lr: 2e-3, seed: 1 };

  test('a collapsing run (MSE, beta 1 on Moving MNIST) gets one note with the cause and what to try; the weights are bit-identical without the check', async () => {
    const notes: string[] = [];
    const dir = tmp('collapse');
    const check = { every: 10, warmup: 20, patience: 2 };
    const a = mnistVAE({ beta: 1, reconLoss: 'mse' });
    const ra = await trainVAE(a, mnist, { ...base, epochs: 4, collapseCheck: check, checkpointDir: dir, callbacks: { onNote: (m) => notes.push(m) } });
    expect(notes).toHaveLength(1);
    expect(ra.notes).toEqual(notes);
    expect(notes[0]).toMatch(/^trainVAE: the VAE looks collapsed at step \d+ \(epoch \d+, 2 checks in a row\): its reconstruction loss \([\d.]+ per frame\) is no better than giving the batch's average frame for every input/);
    expect(notes[0]).toMatch(/the decoded frames are nearly identical across the batch/);
    expect(notes[0]).toMatch(/Try reconLoss: 'bce' .*Moving MNIST.*a lower beta \(now 1; --beta\), freeBits .*a lower lr/);
    const ev = readMetricsLog(path.join(dir, 'metrics.jsonl')).filter((r) => r.kind === 'event' && r.event === 'note');
    expect(ev.map((r) => r.message)).toEqual(notes);
    // it only observes: the same run without the check trains to the same bits
    const b = mnistVAE({ beta: 1, reconLoss: 'mse' });
    const rb = await trainVAE(b, mnist, { ...base, epochs: 4, collapseCheck: false, callbacks: { onNote: (m) => notes.push(m) } });
    expect(weightsOf(b)).toEqual(weightsOf(a));
    expect(rb.history).toEqual(ra.history);
    expect(notes).toHaveLength(1);
  });

  test('a healthy run (BCE on the same data) past its warmup gets no note', async () => {
    const notes: string[] = [];
    const v = mnistVAE({ beta: 0.25, reconLoss: 'bce' });
    // 144 steps, checked at 120, 130 and 140 (by then the reconstructions beat the average frame)
    const r = await trainVAE(v, mnist, { ...base, epochs: 16, collapseCheck: { every: 10, warmup: 120, patience: 2 }, callbacks: { onNote: (m) => notes.push(m) } });
    expect(r.step).toBe(144);
    expect(notes).toEqual([]);
  });

  test('the monitor: signature, patience, once per run, option checks', () => {
    const m = new CollapseMonitor('trainVAE', { reconLoss: 'bce', beta: 0.005, freeBits: 4 }, { every: 5, warmup: 10, patience: 2 });
    expect([m.due(5), m.due(10), m.due(12), m.due(15)]).toEqual([false, true, false, true]);
    const collapsed = { recon: 100, averageFrameLoss: 100, spread: 0.5, kl: 0.1 };
    expect(m.observe(10, 0, collapsed)).toBeNull();
    expect(m.observe(15, 0, { ...collapsed, recon: 50 })).toBeNull(); // healthy check: the streak restarts
    expect(m.observe(20, 0, collapsed)).toBeNull();
    const note = m.observe(25, 1, collapsed)!;
    expect(note).toMatch(/at step 25 \(epoch 2, 2 checks in a row\).*the KL is ~0 \(0.100 nats per frame: z carries no information\)\. Try a lower lr\./);
    expect(m.observe(30, 1, collapsed)).toBeNull();
    expect(m.due(30)).toBe(false);
    expect(() => new CollapseMonitor('trainVAE', { reconLoss: 'mse', beta: 1, freeBits: 0 }, { every: 0 })).toThrow(/trainVAE: options.collapseCheck.every must be an integer in \[1,/);
  });
});

describe('checkpoints', () => {
  test('a process killed in the middle of a checkpoint write leaves the previous checkpoint loadable', async () => {
    const dir = tmp('kill');
    const vae = tinyVAE();
    await trainVAE(vae, eps(), { epochs: 1, batchSize: 16, seed: 1, maxBatchesPerEpoch: 2, checkpointDir: dir });
    const before = latestCheckpoint(dir)!;
    const script = path.join(dir, 'child.ts');
    fs.writeFileSync(
      script,
      `import { generateEpisodes } from ${JSON.stringify(path.resolve('src/data'))};
       import { createVAE, trainVAE } from ${JSON.stringify(path.resolve('src/train/train_vae'))};
       const vae = createVAE({ encoderChannels: [4, 8, 8, 16], latentShape: [4, 4, 4], seed: 2 });
       trainVAE(vae, generateEpisodes({ episodes: 4, steps: 40, seed: 3, cacheDir: false }),
         { epochs: 2, batchSize: 16, seed: 1, maxBatchesPerEpoch: 2, checkpointDir: ${JSON.stringify(dir)}, resume: true });`,
    );
    const child = spawn(process.execPath, ['-r', path.resolve('test/helpers/ts_register.js'), script], {
      env: { ...process.env, WORLDKIT_CHECKPOINT_PAUSE_MS: '60000' },
      stdio: 'ignore',
    });
    const paused = await new Promise<boolean>((resolve) => {
      const t0 = Date.now();
      const poll = setInterval(() => {
        const tmpDirs = fs.readdirSync(dir).filter((f) => f.startsWith('.tmp-ckpt-'));
        if (tmpDirs.some((d) => fs.existsSync(path.join(dir, d, '.paused')))) {
          clearInterval(poll);
          resolve(true);
        } else if (Date.now() - t0 > 90000) {
          clearInterval(poll);
          resolve(false);
        }
      }, 50);
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    expect(paused).toBe(true);
    expect(latestCheckpoint(dir)).toBe(before);
    const ck = loadCheckpoint(dir);
    expect(ck.step).toBe(2);
    ck.dispose();
    const again = loadVAE(dir);
    expect(weightsOf(again)).toEqual(weightsOf(vae));
  });
  test('loading names what is wrong', async () => {
    const dir = tmp('bad');
    await trainVAE(tinyVAE(), eps(), { epochs: 1, batchSize: 16, maxBatchesPerEpoch: 1, checkpointDir: dir });
    const ck = latestCheckpoint(dir)!;
    expect(() => loadCheckpoint(path.join(dir, 'nope'))).toThrow(/no such checkpoint/);
    const w = path.join(ck, 'weights.safetensors');
    fs.writeFileSync(w, fs.readFileSync(w).subarray(0, 100));
    expect(() => loadCheckpoint(dir)).toThrow(CheckpointError);
    expect(() => loadCheckpoint(dir)).toThrow(/weights.safetensors: has 100 bytes/);
    fs.writeFileSync(path.join(dir, 'latest.json'), '{oops');
    expect(() => loadCheckpoint(dir)).toThrow(/latest.json: not valid JSON/);
  });
  test('a non-finite loss stops the run with a clear message and keeps the last good checkpoint', async () => {
    const dir = tmp('nan');
    const vae = tinyVAE();
    await expect(trainVAE(vae, eps(), { epochs: 3, batchSize: 16, lr: 1e30, maxBatchesPerEpoch: 3, checkpointDir: dir })).rejects.toThrow(/became (NaN|Infinity).*(last good checkpoint|No checkpoint)/);
    const l = latestCheckpoint(dir);
    if (l) expect(() => loadVAE(dir)).not.toThrow();
  });
  test('memory stays flat over training steps', async () => {
    const vae = tinyVAE();
    const counts: number[] = [];
    await trainVAE(vae, eps(), { epochs: 1, batchSize: 8, maxBatchesPerEpoch: 12, callbacks: { onBatchEnd: () => { counts.push(memory().numTensors); } } });
    expect(counts[counts.length - 1]).toBe(counts[2]);
  });
});

describe('end to end', () => {
  test('quick demo trains, checkpoints, rolls out, evaluates and beats copy-last-frame on latent MSE', async () => {
    const out = tmp('demo');
    const r = await runDemo({ quick: true, outDir: out, cacheDir: false });
    expect(r.rollout.summary.latentMse).toBeLessThan(r.rollout.summary.baselineLatentMse);
    for (const f of ['summary.md', 'filmstrip_open_loop.png', 'filmstrip_closed_loop.png', 'eval/eval.json', 'eval/latent_mse_per_step.svg', 'vae/latest.json', 'predictor/latest.json', 'predictor/metrics.jsonl',
      'report.html', 'probe/probe.json', 'probe/probe.safetensors', 'eval/tsne.json', 'eval/filmstrips.json', 'eval/semantic_retention_per_step.svg'])
      expect(fs.existsSync(path.join(out, f))).toBe(true);
    expect(Number.isFinite(r.reconstruction.psnr)).toBe(true);
    // the semantic sections: probe quality, retention per step, drift, closed loop; and the summary says so
    const sem = r.evaluation.rollout!.semantic!;
    expect(sem.overall.retention.length).toBe(r.rollout.horizon);
    expect(r.evaluation.probe!.heads.map((h) => h.name)).toEqual(['lane', 'curve', 'speed']);
    expect(r.evaluation.rollout!.drift!.separability.length).toBe(r.rollout.horizon);
    expect(r.evaluation.closedLoop).toBeDefined();
    expect(fs.readFileSync(r.summaryFile, 'utf8')).toMatch(/## Semantic retention/);
    expect(r.reportFile).toBe(path.join(out, 'report.html'));
  });
});

describe('CLI', () => {
  const run = async (...argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(argv, { out: (s) => out.push(s), err: (s) => err.push(s), isTTY: false });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };
  test('--help documents every command and its flags', async () => {
    for (const c of ['demo', 'train-vae', 'train-predictor', 'rollout', 'eval']) {
      const r = await run(c, '--help');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/usage: worldkit/);
    }
    const tp = await run('train-predictor', '--help');
    for (const f of ['--epochs', '--batch_size', '--lr', '--hidden_size', '--predictor', '--residual_prediction', '--scheduled_sampling', '--use_actions', '--lr_schedule', '--input_noise_std', '--target_jitter_scale'])
      expect(tp.out).toContain(f);
  });
  test('unknown flag, missing dataset, unreadable checkpoint: one line, exit 2', async () => {
    const a = await run('train-vae', '--epochz', '3');
    expect(a.code).toBe(2);
    expect(a.err).toMatch(/^worldkit train-vae: unknown flag '--epochz'/);
    expect(a.err.split('\n')).toHaveLength(1);
    const b = await run('train-vae', '--data', '/no/such/data.npz');
    expect(b.code).toBe(2);
    expect(b.err).toMatch(/--data \/no\/such\/data.npz: no such file or folder/);
    const dir = tmp('cli');
    fs.writeFileSync(path.join(dir, 'latest.json'), 'garbage');
    const c = await run('eval', '--vae', dir);
    expect(c.code).toBe(2);
    expect(c.err).toMatch(/--vae: .*latest.json: not valid JSON/);
    const d = await run('rollout', '--vae', '/no/such/ckpt', '--predictor', '/no/such/ckpt');
    expect(d.code).toBe(2);
    expect(d.err).toMatch(/no such checkpoint/);
  });
});
