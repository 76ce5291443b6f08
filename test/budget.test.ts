/**
 * Issue 18, item 6: budgetMinutes on trainVAE / trainPredictor: steps planned from measured step
 * times after warm-up steps, re-planned as training runs, the LR schedule completed at the budget.
 * The clock is injected (each step "takes" 100 ms, each validation 1 s): nothing here depends on
 * real timing.
 */
import { createVAE, trainVAE } from '../src/train/train_vae';
import { createPredictor, trainPredictor } from '../src/train/train_predictor';
import type { Episode } from '../src/data/episode';

const seqs = (n: number, T: number): Episode[] =>
  Array.from({ length: n }, (_, i) => {
    const frames = new Uint8Array(T * 64 * 64 * 3);
    for (let k = 0; k < frames.length; k += 31) frames[k] = (k * 7 + i * 13) & 255;
    return { length: T, height: 64, width: 64, frames, actionDim: 0, actions: new Float32Array(0), labelDim: 0 };
  });
const tinyVAE = () => createVAE({ encoderChannels: [4, 8, 8, 16], latentShape: [4, 4, 4], seed: 2 });
const weights = (m: { parameters(): { f32(): Float32Array }[] }) => m.parameters().map((p) => Array.from(p.f32()));

/** A fake clock: time passes only when the callbacks say so. */
function fakeTime(stepMs: number, valMs: number) {
  const c = { t: 0 };
  return {
    clock: () => c.t,
    callbacks: { onBatchEnd: () => { c.t += stepMs; }, onEpochEnd: () => { c.t += valMs; } },
    get now() { return c.t; },
  };
}

test('trainVAE budgetMinutes: planned from the step time, stops at the budget with the cosine finished; deterministic with the same clock', async () => {
  const data = seqs(4, 10); // 3 training episodes: 30 frames, batch 4: 8 batches an epoch
  const run = async () => {
    const f = fakeTime(100, 1000);
    const vae = tinyVAE();
    const notes: string[] = [];
    const lrs: number[] = [];
    const r = await trainVAE(vae, data, {
      budgetMinutes: 0.1, clock: f.clock, batchSize: 4, lr: 1e-3, lrSchedule: 'cosine', minLrFactor: 0.1, seed: 1, collapseCheck: false,
      callbacks: { ...f.callbacks, onBatchEnd: (_b, logs) => { lrs.push(logs.lr); f.callbacks.onBatchEnd(); }, onNote: (m) => { notes.push(m); } },
    });
    return { r, vae, notes, lrs, elapsed: f.now };
  };
  const a = await run();
  const { r } = a;
  expect(r.stopReason).toBe('budget');
  const b = r.budget!;
  // 6000 ms: a step costs 100 ms, a validation 1000 ms (one per 8 steps): 24 steps (3 epochs, 5400 ms) fit, 25 would need a 4th validation (6500 ms)
  expect(b.msPerStep).toBe(100);
  expect(b.msPerValidation).toBe(1000);
  expect(b.steps).toBe(b.plannedSteps);
  expect(r.step).toBe(b.plannedSteps);
  expect(b.plannedSteps).toBe(24);
  expect(b.firstPlannedSteps).toBeGreaterThan(24); // before any validation was timed
  expect(a.elapsed).toBeLessThanOrEqual(6000);
  expect(a.elapsed).toBe(5400);
  expect(b.wallMs).toBe(a.elapsed);
  expect(r.epochs).toBe(3);
  expect(a.notes.some((m) => /budget 0.1 min: \d+ steps planned/.test(m))).toBe(true);
  // the schedule ran to its end: the last LR used is the cosine's at step total - 1, the rate after it the floor
  expect(a.lrs[0]).toBeCloseTo(1e-3, 9);
  expect(r.history[r.history.length - 1].lr).toBeCloseTo(1e-4, 9);
  expect(a.lrs[a.lrs.length - 1]).toBeLessThan(1.1e-4);
  // same clock, same run
  const again = await run();
  expect(weights(again.vae)).toEqual(weights(a.vae));
  // checks
  await expect(trainVAE(tinyVAE(), data, { budgetMinutes: 0 })).rejects.toThrow(/trainVAE: options.budgetMinutes must be a number of minutes > 0, got 0/);
  await expect(trainVAE(tinyVAE(), data, { budgetMinutes: 1, clock: 5 as unknown as () => number })).rejects.toThrow(/trainVAE: options.clock must be a function/);
});

test('trainPredictor budgetMinutes: re-planned when steps slow down; epochs is an upper limit', async () => {
  const data = seqs(6, 12);
  const vae = tinyVAE();
  const mk = () => createPredictor(vae, { hiddenSize: 8, data, seed: 3 });
  // steps take 100 ms for 10 steps, then 300 ms: the plan shrinks and still ends within the budget
  const c = { t: 0, n: 0 };
  const r = await trainPredictor(mk(), vae, data, {
    budgetMinutes: 0.2, clock: () => c.t, batchSize: 2, seqLen: 6, lr: 1e-3, lrSchedule: 'cosine', seed: 1, scheduledSampling: true,
    callbacks: { onBatchEnd: () => { c.t += ++c.n <= 10 ? 100 : 300; }, onEpochEnd: () => { c.t += 200; }, onNote: () => {} },
  });
  expect(r.stopReason).toBe('budget');
  expect(r.budget!.firstPlannedSteps).toBeGreaterThan(r.budget!.plannedSteps);
  expect(r.step).toBe(r.budget!.plannedSteps);
  expect(c.t).toBeLessThanOrEqual(12000);
  expect(c.t).toBeGreaterThan(12000 - 300 - 200);
  expect(r.history[r.history.length - 1].lr).toBeCloseTo(1e-3 * 0.05, 9);
  // an epochs limit below what the budget allows wins
  const d = { t: 0 };
  const capped = await trainPredictor(mk(), vae, data, {
    budgetMinutes: 10, epochs: 2, clock: () => d.t, batchSize: 2, seqLen: 6, seed: 1, callbacks: { onBatchEnd: () => { d.t += 100; }, onNote: () => {} },
  });
  expect(capped.stopReason).toBe('completed');
  expect(capped.epochs).toBe(2);
});

test('CLI --budget_minutes / --budget-minutes reach train-vae and train-predictor (real clock; only what cannot be flaky is checked)', async () => {
  const fs = await import('fs');
  const os = await import('os');
  const path = await import('path');
  const { main } = await import('../src/cli/main');
  const { loadCheckpoint } = await import('../src/train/checkpoint');
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'wk-budget-'));
  try {
    const io = () => {
      const out: string[] = [], err: string[] = [];
      return { out, err, io: { out: (s: string) => out.push(s), err: (s: string) => err.push(s), isTTY: false } };
    };
    const data = ['--episodes', '3', '--steps', '20', '--batch_size', '8'];
    const vdir = path.join(root, 'vae');
    const v = io();
    expect(await main(['train-vae', ...data, '--encoder_channels', '4,8,8,16', '--latent_channels', '4', '--budget_minutes', '0.01', '--lr_schedule', 'cosine', '--out', vdir], v.io)).toBe(0);
    expect(v.out.join('\n')).toMatch(/budget 0.01 min: \d+ steps of \d+ planned/);
    expect(v.out.join('\n')).toMatch(/^budget: \d+ epochs, step \d+/m);
    // No epoch limit: epochs are counted without a total (the loop's internal cap is not one).
    expect(v.out.join('\n')).toMatch(/^vae epoch 1 \(/m);
    expect(v.out.join('\n')).not.toMatch(/epoch \d+\/\d+/);
    expect((loadCheckpoint(vdir).config.training as { budgetMinutes: number }).budgetMinutes).toBe(0.01);
    const p = io();
    const pdir = path.join(root, 'pred');
    expect(await main(['train-predictor', ...data, '--vae', vdir, '--hidden_size', '8', '--seq_len', '6', '--budget-minutes', '0.01', '--epochs', '1', '--out', pdir], p.io)).toBe(0);
    // --epochs 1 given: a limit the budget may end before
    expect(p.out.join('\n')).toMatch(/^(budget|completed): 1 epochs/m);
    expect(p.out.join('\n')).toMatch(/epoch 1\/1 \(/);
    expect((loadCheckpoint(pdir).config.training as { budgetMinutes: number; epochs: number })).toMatchObject({ budgetMinutes: 0.01, epochs: 1 });
    const bad = io();
    expect(await main(['train-vae', ...data, '--budget_minutes', '0', '--out', path.join(root, 'bad')], bad.io)).toBe(2);
    expect(bad.err.join('\n')).toMatch(/--budget_minutes must be a number of minutes > 0, got 0/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
