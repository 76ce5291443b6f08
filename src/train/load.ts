/**
 * Rebuilding trained models from checkpoints (the config saved with the weights):
 *
 *   const vae = loadVAE('runs/demo/vae');               // a run folder (latest.json) or a ckpt-N folder
 *   const predictor = loadPredictor('runs/demo/predictor');
 *
 * Errors are CheckpointErrors naming the file and what is wrong. `{ device: 'cuda' }` builds the
 * model on the CPU, loads the weights and moves it to the device (checkpoints hold host copies,
 * whichever device trained them).
 */
import { ConvVAE, ConvVAEOptions } from '../models/conv_vae';
import { LatentSequenceModel } from '../models/latent_sequence_model';
import { CheckpointError, LoadedCheckpoint, loadCheckpoint, restoreModule } from './checkpoint';
import type { Module } from '../nn/module';
import { createVAE } from './train_vae';
import { PredictorConfig, predictorFromConfig } from './train_predictor';
import { rememberConfig } from './train_vae';
import { Device, resolveDevice } from './device';
import { ConvLSTMPredictor, ConvLSTMPredictorOptions } from '../models/conv_lstm_predictor';

export interface LoadModelOptions {
  /** Where the loaded model lives (default 'cpu'). */
  device?: Device;
}

export function loadVAE(p: string, opts: LoadModelOptions = {}): ConvVAE {
  return loadModel('loadVAE', p, opts, 'vae', (ck) => {
    const cfg = ck.config.vae as ConvVAEOptions | undefined;
    if (!cfg || typeof cfg !== 'object') throw new CheckpointError(`${ck.path}/state.json: config.vae is missing (is this a VAE or predictor checkpoint?)`);
    if (!Object.keys(ck.weights).some((k) => k.startsWith('vae.'))) throw new CheckpointError(`${ck.path}: holds no VAE weights (kind '${ck.kind}')`);
    return build(ck, 'config.vae', 'ConvVAE', () => createVAE(cfg));
  });
}

/** A trained latent predictor (LatentPredictor or LatentTransformer, as config.predictor.kind says). */
export function loadPredictor(p: string, opts: LoadModelOptions = {}): LatentSequenceModel {
  return loadModel('loadPredictor', p, opts, 'predictor', (ck) => {
    const cfg = ck.config.predictor as PredictorConfig | undefined;
    if (!cfg || typeof cfg !== 'object') throw new CheckpointError(`${ck.path}/state.json: config.predictor is missing (is this a predictor checkpoint? kind '${ck.kind}')`);
    const pr = build(ck, 'config.predictor', cfg.kind === 'transformer' ? 'LatentTransformer' : 'LatentPredictor', () => predictorFromConfig(cfg));
    // Older configs say actionSize 3 with useActions false: remember what the model really takes.
    rememberConfig(pr, { ...cfg, actionSize: pr.actionSize });
    return pr;
  });
}

/**
 * A trained ConvLSTMPredictor (trainPixelPredictor's checkpoints, kind 'pixel_predictor'):
 *   const p = loadPixelPredictor('runs/convlstm');
 */
export function loadPixelPredictor(p: string, opts: LoadModelOptions = {}): ConvLSTMPredictor {
  return loadModel('loadPixelPredictor', p, opts, 'predictor', (ck) => {
    const cfg = ck.config.predictor as (ConvLSTMPredictorOptions & { kind?: string }) | undefined;
    if (!cfg || typeof cfg !== 'object' || cfg.kind !== 'convlstm')
      throw new CheckpointError(`${ck.path}/state.json: config.predictor is ${cfg && typeof cfg === 'object' ? `of kind '${String(cfg.kind ?? 'lstm')}'` : 'missing'}, not a ConvLSTMPredictor's (kind 'convlstm'; checkpoint kind '${ck.kind}': use loadPredictor for latent predictors)`);
    return build(ck, 'config.predictor', 'ConvLSTMPredictor', () => new ConvLSTMPredictor(cfg));
  });
}

/** Every loader: the checkpoint read, the model built from its config, its weights restored (prefix), eval mode, moved to the device; the checkpoint released whatever happens. */
function loadModel<M extends Module>(fn: string, p: string, opts: LoadModelOptions, prefix: string, make: (ck: LoadedCheckpoint) => M): M {
  const device = resolveDevice(fn, 'options.device', opts.device);
  const ck = loadCheckpoint(p);
  try {
    const m = make(ck);
    restoreModule(ck, prefix, m);
    m.eval();
    m.to(device);
    return m;
  } finally {
    ck.dispose();
  }
}

/** A model built from a checkpoint's config, a constructor's complaint turned into a CheckpointError naming the file and the field. */
function build<M>(ck: LoadedCheckpoint, field: string, what: string, make: () => M): M {
  try {
    return make();
  } catch (e) {
    throw new CheckpointError(`${ck.path}/state.json: ${field} cannot build a ${what}: ${(e as Error).message}`);
  }
}
