/**
 * Load a trained VAE and predictor from their checkpoint folders and imagine the future of a
 * driving sequence; save a filmstrip (rows: real / VAE reconstruction / imagined).
 *
 *   npx ts-node examples/rollout_from_checkpoint.ts runs/demo/vae runs/demo/predictor
 */
import * as path from 'path';
import * as wk from '../src/index';

export function main(vaeDir = 'runs/demo/vae', predictorDir = 'runs/demo/predictor', out = 'runs/example/filmstrip.png') {
  const vae = wk.train.loadVAE(vaeDir);
  const predictor = wk.train.loadPredictor(predictorDir);
  const [ep] = wk.data.generateEpisodes({ episodes: 1, steps: 40, seed: 99 });
  const context = 4, horizon = 12;
  const r = wk.rollout.openLoopRollout(predictor, vae, { frames: ep.frames, actions: ep.actions, context, horizon });
  wk.rollout.saveFilmstrip(out, [r.realFrames!, r.reconFrames!, r.predFrames], { frames: horizon, scale: 2 });
  const latentMse = wk.diagnostics.mse(r.predLatents, r.trueLatents!);
  console.log(`imagined ${horizon} steps from ${context} frames: latent MSE ${latentMse.toExponential(3)}; filmstrip ${path.resolve(out)}`);
  return { latentMse, out };
}

if (require.main === module) main(process.argv[2], process.argv[3]);
