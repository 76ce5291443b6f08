/** Diagnostics (wk.diagnostics): image metrics, reconstruction and rollout evaluation, the semantic probe and retention, latent drift, t-SNE, charts and the HTML report. */
export { mse, mae, psnr, psnrFromMse, framePsnr, frameErrors, FRAME_PSNR_CAP, ssim, ssimPlane } from './image_metrics';
export { evaluateVAE, evaluateRollouts, writeEvaluation } from './evaluate';
export type { ReconstructionReport, RolloutReport, EvaluationReport, EvaluateRolloutOptions } from './evaluate';
export { lineChartSvg } from './chart';
export type { Series } from './chart';
export { writeReport } from './report';
export { tsne, trustworthiness } from './tsne';
export type { TsneOptions, TsneResult, TsneMethod } from './tsne';
export { frechetDistance, separability, latentDrift, type SeparabilityOptions, type SeparabilityResult, type LatentDriftOptions } from './latent_distribution';
export { SemanticProbe } from '../models/semantic_probe';
export type { SemanticProbeOptions } from '../models/semantic_probe';
export { trainSemanticProbe, probeQuality, saveSemanticProbe, loadSemanticProbe, ensureSemanticProbe, dataFingerprint, PROBE_RELIABLE_ACCURACY } from './semantic_probe';
export type { TrainProbeOptions, TrainedProbe } from './semantic_probe';
export { RetentionAccumulator } from './semantic_retention';
export { evaluateWorldModel } from './world_model_eval';
export type { WorldModelEvalOptions, WorldModelEvalResult } from './world_model_eval';
export type { EvalFile, TsneFile, FilmstripFile, ProbeQuality, SemanticRetention, SourceAccuracy, LatentDrift, ReconstructionByClass, LabelHead } from './eval_schema';
export type { RolloutSamples, EvaluateVAEOptions } from './evaluate';
