/**
 * Reliability, non-finite values: training stops on the first NaN/Inf in the loss, a gradient or
 * a weight, naming the tensor and the data batch; it never saves non-finite weights, and the
 * checkpoint it calls good had finite weights and a finite loss computed with them, including
 * with checkpointEvery and validationSplit 0, where a checkpoint can be saved after the step
 * that blew the weights up.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { generateEpisodes } from '../src/data/driving_sim';
import { createVAE, trainVAE } from '../src/train/train_vae';
import { runLoop, NonFiniteLossError } from '../src/train/loop';
import { loadCheckpoint, latestCheckpoint } from '../src/train/checkpoint';
import { Linear } from '../src/nn/linear';
import { sqrt } from '../src/ops/elementwise';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wk-nonfinite-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const eps = generateEpisodes({ episodes: 2, steps: 16, seed: 3, cacheDir: false });
const tinyVAE = () => createVAE({ encoderChannels: [2, 2, 2, 2], latentShape: [2, 4, 4], seed: 1 });
const opts = { epochs: 1, batchSize: 4, validationSplit: 0, metricsFile: null, seed: 1 };

async function stopped(p: Promise<unknown>): Promise<NonFiniteLossError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(NonFiniteLossError);
    return e as NonFiniteLossError;
  }
  throw new Error('training did not stop');
}

test('checkpointEvery + validationSplit 0: weights blown up (finite) and saved, NaN loss next step -> the checkpoint before is named, and latest.json points back to it', async () => {
  const dir = path.join(tmp, 'blowup');
  const vae = tinyVAE();
  const w = vae.parameters()[0];
  const err = await stopped(
    trainVAE(vae, eps, {
      ...opts,
      checkpointEvery: 1,
      keepCheckpoints: 1, // pruning must still keep the good one
      checkpointDir: dir,
      callbacks: {
        onBatchEnd: (b) => {
          // After step 3, before its checkpoint: the weights "diverge" to huge finite values.
          if (b === 2) w.f32().fill(3e38);
        },
      },
    }),
  );
  // The huge weights give a finite loss here but a NaN gradient: either way the step from them failed.
  expect(err.message).toMatch(/(loss|gradient of '[\w.]+') became (NaN|-?Infinity).* at epoch 1, batch 4 of \d+ \(step 4; 4 frames: driving_sim seed 3 episode \d frame \d+/);
  const good = path.join(dir, 'ckpt-000002');
  expect(err.message).toContain(`The last good checkpoint is ${good}.`);
  expect(err.message).toContain(`${path.join(dir, 'ckpt-000003')} (saved after step 3)`);
  expect(latestCheckpoint(dir)).toBe(good);
  const ck = loadCheckpoint(dir);
  for (const t of Object.values(ck.weights)) expect(t.f32().every((v) => Math.abs(v) < 1e6)).toBe(true);
  ck.dispose();
});

test('a NaN weight behind a ReLU (finite loss) is never saved; training stops naming it', async () => {
  const dir = path.join(tmp, 'relu');
  const vae = tinyVAE();
  const named = [...vae.namedParameters()];
  const [bname, bias] = named.find(([n]) => /bias/.test(n))!;
  const err = await stopped(
    trainVAE(vae, eps, {
      ...opts,
      checkpointEvery: 1,
      checkpointDir: dir,
      callbacks: { onBatchEnd: (b) => { if (b === 1) bias.f32()[0] = NaN; } },
    }),
  );
  expect(err.message).toContain(`weight '${bname}' is NaN at flat index 0 at step 2; the checkpoint was not saved`);
  expect(latestCheckpoint(dir)).toBe(path.join(dir, 'ckpt-000001'));
  const ck = loadCheckpoint(dir);
  for (const t of Object.values(ck.weights)) expect(t.f32().every(Number.isFinite)).toBe(true);
  ck.dispose();
  // A model that starts with one is refused before the first step.
  await expect(trainVAE(vae, eps, opts)).rejects.toThrow(new RegExp(`weight '${bname.replace(/\./g, '\\.')}' is NaN at flat index 0 before training starts`));
});

test('a checkpoint holding a non-finite weight (written by another writer) is refused on load, naming file and tensor', () => {
  const { saveCheckpoint } = require('../src/train/checkpoint');
  const dir = path.join(tmp, 'nan-ck');
  const vae = tinyVAE();
  const [name, p] = [...vae.namedParameters()][3];
  p.f32()[1] = Infinity;
  saveCheckpoint(dir, { kind: 'vae', config: { vae: {} }, modules: { vae }, epoch: 0, step: 1 });
  expect(() => loadCheckpoint(dir)).toThrow(`${path.join(dir, 'ckpt-000001', 'weights.safetensors')}: tensor 'vae.${name}' holds Infinity at flat index 1`);
});

/** A one-weight model whose loss sqrt(w - w) is 0 but whose gradient is NaN (0.5/sqrt(0) * 0). */
function nanGradSpec(extra: object = {}) {
  const m = new Linear(1, 1, { seed: 1 });
  return {
    kind: 'toy',
    fn: 'toyTrain',
    config: {},
    modules: { m },
    params: m,
    opts: { epochs: 1, batchSize: 1, metricsFile: null, ...extra },
    numExamples: 3,
    rngs: {},
    trainStep: () => ({ loss: sqrt(m.weight.sub(m.weight)).sum(), logs: {} }),
    validate: () => ({}),
    describeBatch: (idx: number[]) => `examples ${idx.join(', ')}`,
    restore: () => {},
  };
}

test('a NaN gradient with a finite loss stops the run at that step, naming the tensor and the batch', async () => {
  const spec = nanGradSpec();
  const err = await stopped(runLoop(spec as never));
  // Without clipping the one check per step is over the weights after the update; the NaN
  // gradient that made them non-finite is named as the cause.
  expect(err.message).toMatch(/toyTrain: gradient of 'weight' became NaN at flat index 0 at epoch 1, batch 1 of 3 \(step 1; examples \d\); training stopped; the weights this update made were not saved/);
  // With clipping, the non-finite norm is caught before the update: the weights are untouched.
  const clipped = nanGradSpec({ gradClip: 1 });
  const before = Array.from(clipped.modules.m.weight.f32());
  const err2 = await stopped(runLoop(clipped as never));
  expect(err2.message).toMatch(/gradient of 'weight' became NaN at flat index 0 .*training stopped without applying this step/);
  expect(Array.from(clipped.modules.m.weight.f32())).toEqual(before);
});

test('an update that overflows a weight stops the run naming the weight', async () => {
  const err = await stopped(trainVAE(tinyVAE(), eps, { ...opts, optimizer: 'sgd', lr: 1e38 }));
  expect(err.message).toMatch(/trainVAE: weight '[\w.]+' became -?Infinity at flat index \d+ in the update at epoch 1, batch 1 of \d+ \(step 1; 4 frames: .*\); training stopped; the weights this update made were not saved/);
});

describe('resume with changed optimizer options', () => {
  test('an explicit lr on resume is applied and noted; without it the run continues at its own lr', async () => {
    const dir = path.join(tmp, 'lr');
    const base = { ...opts, lr: 2e-3, lrSchedule: 'cosine' as const, epochs: 2, maxBatchesPerEpoch: 2, checkpointDir: dir };
    const lrs = (o: object) => {
      const seen: number[] = [];
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      return { o: { ...o, callbacks: { onBatchEnd: (_b: number, l: { lr: number }) => { seen.push(l.lr); }, onNote: () => {} } } as any, seen };
    };
    // Reference: 2 epochs uninterrupted.
    const ref = lrs({ ...base, checkpointDir: path.join(tmp, 'lr-ref') });
    await trainVAE(tinyVAE(), eps, ref.o);
    // 1 epoch, then resume without lr: same lrs as the reference, no note.
    await trainVAE(tinyVAE(), eps, { ...base, epochs: 1 });
    const same = lrs({ ...base, lr: undefined, lrSchedule: undefined });
    const r1 = await trainVAE(tinyVAE(), eps, { ...same.o, resume: true });
    expect(r1.notes).toEqual([]);
    expect(same.seen).toEqual(ref.seen.slice(2));
    // Again from epoch 1 with lr 1e-5: applied from the resumed step, and said so.
    const dir2 = path.join(tmp, 'lr2');
    await trainVAE(tinyVAE(), eps, { ...base, epochs: 1, checkpointDir: dir2 });
    const low = lrs({ ...base, checkpointDir: dir2, lr: 1e-5 });
    const r2 = await trainVAE(tinyVAE(), eps, { ...low.o, resume: true });
    expect(r2.notes).toEqual([expect.stringMatching(/^resume: lr 0\.002 -> 0\.00001: applied from step 2/)]);
    for (let i = 0; i < low.seen.length; ++i) expect(low.seen[i]).toBeCloseTo(ref.seen[2 + i] * (1e-5 / 2e-3), 12);
    // A changed optimizer starts its state afresh, with a note; the checkpoint then records it.
    const r3 = await trainVAE(tinyVAE(), eps, { ...base, checkpointDir: dir2, epochs: 3, optimizer: 'sgd', resume: true, callbacks: { onNote: () => {} } });
    expect(r3.notes.join('\n')).toMatch(/resume: optimizer adam -> sgd: its state starts afresh/);
    const ck = loadCheckpoint(dir2);
    expect((ck.config.training as { optimizer: string }).optimizer).toBe('sgd');
    ck.dispose();
  });

  test('CLI: train-vae --resume --lr applies the new rate and prints a note; --resume alone keeps the run rate', async () => {
    const { main } = require('../src/cli/main');
    process.env.WORLDKIT_CACHE = path.join(tmp, 'cache');
    const dir = path.join(tmp, 'cli');
    const run = async (...argv: string[]) => {
      const out: string[] = [];
      const code = await main(['train-vae', '--data', 'sim', '--episodes', '2', '--steps', '12', '--batch_size', '8', '--encoder_channels', '2,2,2,2', '--latent_channels', '2', '--validation_split', '0', '--out', dir, ...argv], { out: (m: string) => out.push(m), err: (m: string) => out.push(m), isTTY: false });
      return { code, out: out.join('\n') };
    };
    expect((await run('--epochs', '1', '--lr', '2e-3')).code).toBe(0);
    const a = await run('--epochs', '2', '--resume');
    expect(a.code).toBe(0);
    expect(a.out).not.toMatch(/note: resume/);
    let ck = loadCheckpoint(dir);
    expect((ck.schedule as { baseLr: number }).baseLr).toBe(2e-3); // not the flag's default 1e-3
    ck.dispose();
    const b = await run('--epochs', '3', '--resume', '--lr', '1e-5');
    expect(b.code).toBe(0);
    expect(b.out).toMatch(/vae: note: resume: lr 0\.002 -> 0\.00001: applied from step \d+/);
    ck = loadCheckpoint(dir);
    expect((ck.schedule as { baseLr: number }).baseLr).toBe(1e-5);
    ck.dispose();
  });
});

test('every optimizer turns a NaN/Inf gradient into a non-finite weight, even at lr 0 (the per-step check relies on it)', () => {
  const { Adam, AdamW } = require('../src/optim/adam');
  const { SGD } = require('../src/optim/sgd');
  const { tensor } = require('../src/tensor/creation');
  const makers = [(p: unknown) => new Adam([p], { lr: 0 }), (p: unknown) => new AdamW([p], { lr: 0 }), (p: unknown) => new SGD([p], { lr: 0, momentum: 0.9 }), (p: unknown) => new SGD([p], { lr: 0 })];
  for (const make of makers)
    for (const bad of [NaN, Infinity, -Infinity]) {
      const p = tensor([1, 2]).requireGrad();
      p.grad = tensor([bad, 0]);
      make(p).step();
      expect(Number.isFinite(p.f32()[0])).toBe(false);
      expect(p.f32()[1]).toBe(2);
    }
});
