/**
 * The training loop's extra optimizers (LoopSpec.extraOptimizers): a 'follow' optimizer is stepped
 * with the main one at its own lr times the main schedule's factor, an 'own' one only by the
 * trainer; both are checkpointed, and a run interrupted mid-epoch resumes bit-identical to an
 * uninterrupted one. A checkpoint without an extra optimizer's state is refused for resume.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Linear } from '../src/nn/linear';
import { Module } from '../src/nn/module';
import { Adam } from '../src/optim/adam';
import { SGD } from '../src/optim/sgd';
import { Tensor } from '../src/tensor/tensor';
import { runLoop, LoopSpec, CommonTrainOptions } from '../src/train/loop';
import { loadCheckpoint, CheckpointError } from '../src/train/checkpoint';
import { Generator } from '../src/random/generator';
import { mseLoss } from '../src/losses';
import '../src/ops';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wk-extra-opt-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

class Pair extends Module {
  readonly a: Linear;
  readonly b: Linear;
  constructor() {
    super();
    this.a = this.registerModule('a', new Linear(3, 4, { seed: 2 }));
    this.b = this.registerModule('b', new Linear(4, 2, { seed: 3 }));
  }
  forward(x: Tensor): Tensor {
    return this.b.forward(this.a.forward(x).relu());
  }
}

/** A toy run: main optimizer on `pair.b`, a 'follow' Adam on `pair.a`, an 'own' SGD on `critic` stepped in trainStep. */
function spec(opts: CommonTrainOptions, withOwn = true) {
  const pair = new Pair();
  const critic = new Linear(2, 1, { seed: 4 });
  const gen = new Generator(7);
  const data = new Float32Array(12 * 3);
  new Generator(5).fillNormal(data);
  const follow = new Adam(pair.a.parameters(), { lr: 0.05 });
  const own = new SGD(critic.parameters(), { lr: 0.1 });
  const s: LoopSpec = {
    kind: 'toy',
    fn: 'toyTrain',
    config: {},
    modules: withOwn ? { pair, critic } : { pair },
    params: pair,
    opts,
    numExamples: 12,
    rngs: { gen },
    trainStep(idx) {
      const x = new Tensor([idx.length, 3], 'float32', Float32Array.from(idx.flatMap((i) => Array.from(data.subarray(i * 3, i * 3 + 3)))));
      const noise = new Float32Array(idx.length * 2);
      gen.fillNormal(noise, 0, 0.1);
      const y = pair.forward(x);
      if (withOwn) {
        // the critic's own update, on a detached input
        own.zeroGrad();
        const c = mseLoss(critic.forward(y.detach()), new Tensor([idx.length, 1], 'float32', new Float32Array(idx.length)));
        c.backward();
        own.step();
      }
      const loss = mseLoss(y, new Tensor([idx.length, 2], 'float32', noise));
      return { loss, logs: {} };
    },
    validate: () => ({}),
    restore(ck) {
      pair.loadStateDict(ck.moduleWeights('pair'));
      if (withOwn) critic.loadStateDict(ck.moduleWeights('critic'));
    },
    extraOptimizers: withOwn ? { first: { optimizer: follow, mode: 'follow' }, critic: { optimizer: own, mode: 'own' } } : { first: { optimizer: follow, mode: 'follow' } },
  };
  return { s, pair, critic, follow };
}

const weightsOf = (...ms: Module[]) => ms.flatMap((m) => m.parameters().map((p) => Array.from(p.f32())));

test('extra optimizers are stepped, checkpointed and resume bit-identically mid-epoch', async () => {
  const base: CommonTrainOptions = { epochs: 2, batchSize: 4, lr: 0.01, lrSchedule: 'cosine', metricsFile: null };
  const full = spec({ ...base });
  const a0 = weightsOf(full.pair.a);
  await runLoop(full.s);
  // the 'follow' optimizer moved pair.a (the main optimizer leaves it to it)
  expect(weightsOf(full.pair.a)).not.toEqual(a0);

  const dir = path.join(tmp, 'resume');
  const signal = { stop: false };
  const part = spec({ ...base, checkpointDir: dir, signal, callbacks: { onBatchEnd: (b) => { if (b === 1) signal.stop = true; } } });
  const r1 = await runLoop(part.s);
  expect(r1.stopReason).toBe('interrupted');
  const ck = loadCheckpoint(dir);
  expect(Object.keys(ck.extraOptimizers).sort()).toEqual(['critic', 'first']);
  expect(ck.extraOptimizers.first.type).toBe('Adam');
  expect(fs.existsSync(path.join(ck.path, 'optimizer.critic.safetensors'))).toBe(true);
  ck.dispose();
  const rest = spec({ ...base, checkpointDir: dir, resume: true });
  await runLoop(rest.s);
  expect(weightsOf(rest.pair, rest.critic)).toEqual(weightsOf(full.pair, full.critic));
});

test("the 'follow' optimizer's lr follows the main schedule's factor", async () => {
  const lrs: number[] = [];
  const t = spec({ epochs: 1, batchSize: 4, lr: 0.01, lrSchedule: 'cosine', minLrFactor: 0.1, metricsFile: null });
  const orig = t.s.trainStep;
  t.s.trainStep = (idx, info, ctx) => {
    lrs.push(t.follow.lr);
    return orig(idx, info, ctx);
  };
  await runLoop(t.s);
  // set before each step from the main lr of that step: 0.05 * (lr / 0.01); the first step reads the construction lr
  expect(lrs[0]).toBeCloseTo(0.05, 10);
  expect(t.follow.lr).toBeLessThan(0.05);
  expect(t.follow.lr).toBeGreaterThan(0.05 * 0.1 - 1e-9);
});

test('resuming with an extra optimizer the checkpoint lacks is refused', async () => {
  const dir = path.join(tmp, 'lacks');
  await runLoop(spec({ epochs: 1, batchSize: 4, checkpointDir: dir, metricsFile: null }, false).s);
  const again = spec({ epochs: 2, batchSize: 4, checkpointDir: dir, resume: true, metricsFile: null }, true);
  again.s.restore = (ck) => again.pair.loadStateDict(ck.moduleWeights('pair'));
  await expect(runLoop(again.s)).rejects.toThrow(CheckpointError);
  await expect(runLoop(spec({ epochs: 2, batchSize: 4, checkpointDir: dir, resume: true, metricsFile: null }, true).s)).rejects.toThrow(/has no state for the 'critic' optimizer|no weights for 'critic'/);
});
