// The host buffer cache's effect on a Transformer training step at bench-model's Moving MNIST size
// (docs/backend.md, "Host buffer reuse"): createPredictor's Transformer (width 128, 2 blocks, 4
// heads) over latents [32,4,4] without actions, B=32 windows of 20 latents, scheduled sampling
// pTrue 0.857 after a burn-in of 10, loss().backward() and Adam. Times `steps` steps after 3
// warm-up steps under the cache limit the environment gives (WORLDKIT_HOST_CACHE_MB; unset: the
// default), and prints the median and mean step time with the cache's hits and misses. Usage:
//   WORLDKIT_HOST_CACHE_MB=512 node -r ./test/helpers/ts_register.js scripts/experiments/host_cache_step.ts '{"steps":5}'
//   node -r ./test/helpers/ts_register.js scripts/experiments/host_cache_step.ts '{"steps":5}'
import * as wk from '../../src';
import { Adam } from '../../src/optim';
import { createPredictor } from '../../src/train/train_predictor';

const opts = JSON.parse(process.argv[2] ?? '{}') as { steps?: number };
const steps = opts.steps ?? 5;
const B = 32, T = 20;
const model = createPredictor({ latentShape: [32, 4, 4] }, { predictor: 'transformer', actionSize: 0, seed: 1 });
const opt = new Adam(model, { lr: 1e-3 });
const z = wk.randn([B, T, 32, 4, 4], { seed: 2 });
const rng = new wk.Generator(3);
const step = () =>
  wk.tidy(() => {
    opt.zeroGrad();
    model.loss(z, null, { pTrue: 0.857, rng, burnIn: 10 }).backward();
    opt.step();
  });
for (let i = 0; i < 3; ++i) step();
const before = wk.memory().hostCache;
const ms: number[] = [];
for (let i = 0; i < steps; ++i) {
  const t0 = process.hrtime.bigint();
  step();
  ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
const after = wk.memory().hostCache;
const sorted = ms.slice().sort((a, b) => a - b);
const mean = ms.reduce((s, v) => s + v, 0) / ms.length;
console.log(
  `host cache limit ${process.env.WORLDKIT_HOST_CACHE_MB ?? 'default'} MB: step median ${sorted[sorted.length >> 1].toFixed(0)} ms, ` +
    `mean ${mean.toFixed(0)} ms over ${steps} steps; hits ${after.hits - before.hits}, misses ${after.misses - before.misses}`,
);
