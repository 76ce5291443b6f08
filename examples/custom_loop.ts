/**
 * Train the predictor in your own loop, with a custom loss term: latent MSE plus a penalty on
 * the size of each predicted increment (a smoothness prior), then save checkpoints that
 * `worldkit rollout` / loadPredictor can open.
 *
 *   npx ts-node examples/custom_loop.ts        (in your project: import * as wk from 'worldkit')
 */
import * as path from 'path';
import * as wk from '../src/index';

export async function main(outDir = path.join('runs', 'example')): Promise<{ first: number; last: number; vaeDir: string; predictorDir: string }> {
  const episodes = wk.data.generateEpisodes({ episodes: 4, steps: 48, seed: 7 });
  // A small VAE, trained briefly with the library's trainer.
  const vae = wk.train.createVAE({ encoderChannels: [8, 16, 16, 32], latentShape: [8, 4, 4], seed: 1 });
  const vaeDir = path.join(outDir, 'vae');
  await wk.train.trainVAE(vae, episodes, { epochs: 1, batchSize: 16, lr: 3e-3, checkpointDir: vaeDir });
  vae.freeze().eval();

  // Latents once, then our own loop.
  const latents = wk.train.encodeEpisodes(vae, episodes);
  const predictor = wk.train.createPredictor(vae, { hiddenSize: 32, residualPrediction: true, useActions: true, seed: 2 });
  const opt = new wk.optim.Adam(predictor.parameters(), { lr: 3e-3 });
  const T = 12;
  const starts: [number, number][] = [];
  latents.forEach((e, i) => { for (let t = 0; t + T <= e.length; t += 6) starts.push([i, t]); });
  const lambda = 0.1;
  const losses: number[] = [];
  for (let step = 0; step < 30; ++step) {
    const batch = [0, 1, 2, 3].map((k) => starts[(step * 4 + k) % starts.length]);
    const loss = wk.tidy(() => {
      opt.zeroGrad();
      const { z, a } = wk.train.gatherWindows(latents, batch, T, predictor.latentShape);
      const D = predictor.latentSize;
      const pred = predictor.forwardTeacherForced(z, a).reshape(4, T - 1, D);
      const zf = z.reshape(4, T, D);
      const target = zf.slice([0, 1, 0], [4, T - 1, D]);
      const prev = zf.slice([0, 0, 0], [4, T - 1, D]);
      // Custom term: keep the predicted increment small.
      const l = wk.mseLoss(pred, target).add(pred.sub(prev).square().mean().mul(lambda));
      l.backward();
      opt.step();
      return l.item();
    });
    losses.push(loss);
  }
  const predictorDir = path.join(outDir, 'predictor');
  wk.train.saveCheckpoint(predictorDir, {
    kind: 'predictor',
    config: { predictor: { latentShape: predictor.latentShape, actionSize: 3, hiddenSize: 32, residual: true, useActions: true } },
    modules: { predictor },
    optimizer: opt,
    epoch: 1,
    step: losses.length,
  });
  console.log(`custom loop: loss ${losses[0].toFixed(5)} -> ${losses[losses.length - 1].toFixed(5)}; checkpoints in ${outDir}`);
  return { first: losses[0], last: losses[losses.length - 1], vaeDir, predictorDir };
}

if (require.main === module) main().catch((e) => { console.error(e); process.exit(1); });
