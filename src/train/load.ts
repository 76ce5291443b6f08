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
import { CheckpointError, loadCheckpoint, restoreModule } from './checkpoint';
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
  const device = resolveDevice('loadVAE', 'options.device', opts.device);
  const ck = loadCheckpoint(p);
  try {
    const cfg = ck.config.vae as ConvVAEOptions | undefined;
    if (!cfg || typeof cfg !== 'object') throw new CheckpointError(`${ck.path}/state.json: config.vae is missing (is this a VAE or predictor checkpoint?)`);
    if (!Object.keys(ck.weights).some((k) => k.startsWith('vae.'))) throw new CheckpointError(`${ck.path}: holds no VAE weights (kind '${ck.kind}')`);
    let vae: ConvVAE;
    try {
      vae = createVAE(cfg);
    } catch (e) {
      throw new CheckpointError(`${ck.path}/state.json: config.vae cannot build a ConvVAE: ${(e as Error).message}`);
    }
    restoreModule(ck, 'vae', vae);
    vae.eval();
    vae.to(device);
    return vae;
  } finally {
    ck.dispose();
  }
}

/** A trained latent predictor (LatentPredictor or LatentTransformer, as config.predictor.kind says). */
export function loadPredictor(p: string, opts: LoadModelOptions = {}): LatentSequenceModel {
  const device = resolveDevice('loadPredictor', 'options.device', opts.device);
  const ck = loadCheckpoint(p);
  try {
    const cfg = ck.config.predictor as PredictorConfig | undefined;
    if (!cfg || typeof cfg !== 'object') throw new CheckpointError(`${ck.path}/state.json: config.predictor is missing (is this a predictor checkpoint? kind '${ck.kind}')`);
    let pr: LatentSequenceModel;
    try {
      pr = predictorFromConfig(cfg);
    } catch (e) {
      throw new CheckpointError(`${ck.path}/state.json: config.predictor cannot build a ${cfg.kind === 'transformer' ? 'LatentTransformer' : 'LatentPredictor'}: ${(e as Error).message}`);
    }
    // Older configs say actionSize 3 with useActions false: remember what the model really takes.
    rememberConfig(pr, { ...cfg, actionSize: pr.actionSize });
    restoreModule(ck, 'predictor', pr);
    pr.eval();
    pr.to(device);
    return pr;
  } finally {
    ck.dispose();
  }
}

/**
 * A trained ConvLSTMPredictor (trainPixelPredictor's checkpoints, kind 'pixel_predictor'):
 *   const p = loadPixelPredictor('runs/convlstm');
 */
export function loadPixelPredictor(p: string, opts: LoadModelOptions = {}): ConvLSTMPredictor {
  const device = resolveDevice('loadPixelPredictor', 'options.device', opts.device);
  const ck = loadCheckpoint(p);
  try {
    const cfg = ck.config.predictor as (ConvLSTMPredictorOptions & { kind?: string }) | undefined;
    if (!cfg || typeof cfg !== 'object' || cfg.kind !== 'convlstm')
      throw new CheckpointError(`${ck.path}/state.json: config.predictor is ${cfg && typeof cfg === 'object' ? `of kind '${String(cfg.kind ?? 'lstm')}'` : 'missing'}, not a ConvLSTMPredictor's (kind 'convlstm'; checkpoint kind '${ck.kind}': use loadPredictor for latent predictors)`);
    let pr: ConvLSTMPredictor;
    try {
      pr = new ConvLSTMPredictor(cfg);
    } catch (e) {
      throw new CheckpointError(`${ck.path}/state.json: config.predictor cannot build a ConvLSTMPredictor: ${(e as Error).message}`);
    }
    restoreModule(ck, 'predictor', pr);
    pr.eval();
    pr.to(device);
    return pr;
  } finally {
    ck.dispose();
  }
}
