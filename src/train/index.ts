/** Training (wk.train): trainers, checkpoints, metrics log, scheduled-sampling decays, the demo. */
export { trainVAE, createVAE } from './train_vae';
export type { TrainVAEOptions } from './train_vae';
export { trainPredictor, createPredictor, encodeEpisodes, gatherWindows } from './train_predictor';
export type { TrainPredictorOptions, PredictorModelOptions, LatentEpisode } from './train_predictor';
export { trainWorldModel } from './train_world_model';
export type { TrainWorldModelOptions, WorldModelPart, WorldModelStepTensors } from './train_world_model';
export { runLoop, epochOrder, makeSchedule, makeOptimizer, NonFiniteLossError } from './loop';
export type { TrainCallbacks, CommonTrainOptions, TrainResult, Logs } from './loop';
export { saveCheckpoint, loadCheckpoint, latestCheckpoint, restoreModule, CheckpointError } from './checkpoint';
export type { CheckpointData, LoadedCheckpoint } from './checkpoint';
export { loadVAE, loadPredictor } from './load';
export type { LoadModelOptions } from './load';
export { MetricsLog, readMetricsLog } from './metrics_log';
export type { MetricsRecord } from './metrics_log';
export { pTrueAt } from './sampling_schedule';
export type { SamplingSchedule, SamplingDecay } from './sampling_schedule';
export { runDemo, DEMO_FULL, DEMO_QUICK } from './demo';
export type { DemoOptions, DemoResult, DemoConfig } from './demo';
