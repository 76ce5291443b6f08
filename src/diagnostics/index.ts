/** Diagnostics (wk.diagnostics): image metrics, evaluation of VAE and rollouts, SVG charts. */
export { mse, psnr, psnrFromMse, ssim, ssimPlane } from './image_metrics';
export { evaluateVAE, evaluateRollouts, writeEvaluation } from './evaluate';
export type { ReconstructionReport, RolloutReport, EvaluationReport, EvaluateRolloutOptions } from './evaluate';
export { lineChartSvg } from './chart';
export type { Series } from './chart';
export { writeReport } from './report';
export { tsne, trustworthiness } from './tsne';
export type { TsneOptions, TsneResult, TsneMethod } from './tsne';
export { frechetDistance, separability, latentDrift, type SeparabilityOptions, type SeparabilityResult, type LatentDriftOptions } from './latent_distribution';
