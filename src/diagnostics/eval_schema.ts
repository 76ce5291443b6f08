/**
 * The shape of what `worldkit eval` / `worldkit demo` write into a run's `eval/` folder, and what
 * `worldkit report` reads back: one contract between the diagnostics that measure and the report
 * that shows. Everything here is plain JSON (no typed arrays), so a file written by one version
 * is read by the report without the models.
 *
 *   eval/eval.json        EvalFile
 *   eval/tsne.json        TsneFile      (real and predicted latents embedded jointly)
 *   eval/filmstrips.json  FilmstripFile (per window: a PNG strip per row and the probe's labels)
 *
 * Horizon arrays are indexed by step k = 0..horizon-1, where k = 0 is the first imagined frame.
 * Non-finite numbers are written as strings ("Infinity", "NaN"), since JSON has no literal for them.
 */

import type { LabelHead } from '../data/episode';
export type { LabelHead };

/** The semantic probe's own quality on held-out real frames: if a head is below the threshold the
 * probe, not the world model, would be measured, so its retention figures are flagged. */
export interface ProbeQuality {
  heads: {
    name: string;
    classes: string[];
    /** Held-out accuracy on real frames. */
    accuracy: number;
    /** Mean of the per-class recalls (classes absent from the held-out set are skipped). */
    balancedAccuracy: number;
    /** Held-out frames per class. */
    classCounts: number[];
    /** accuracy >= threshold */
    reliable: boolean;
  }[];
  threshold: number;
  trainFrames: number;
  heldOutFrames: number;
  /** The probe sees the frame and its predecessor (so motion, e.g. speed, is decidable). */
  pairs: boolean;
}

/** Accuracy of the probe, per head [head][k] and averaged over heads [k], for the four sources. */
export interface SourceAccuracy {
  /** decoded predicted frames */
  predicted: number[];
  /** VAE reconstructions of the true frames: the ceiling a latent predictor can reach */
  reconstruction: number[];
  /** the true frames */
  real: number[];
  /** copy-last: the last context observation (frame and predecessor) held for the whole horizon */
  copyLast: number[];
}

export interface SemanticRetention {
  heads: LabelHead[];
  /** Windows x steps evaluated (each window contributes one sample per step). */
  windows: number;
  /** Per head: accuracy per source and step. */
  perHead: {
    name: string;
    accuracy: SourceAccuracy;
    /** accuracy.predicted[k] / accuracy.real[k] */
    retention: number[];
    /** copy-last's and the reconstructions' retention, for comparison */
    copyLastRetention: number[];
    reconstructionRetention: number[];
    /** The changed subset: windows whose true label at step k differs from the last context frame's. */
    changed: {
      count: number[];
      accuracy: SourceAccuracy;
      retention: number[];
    };
  }[];
  /** Mean over heads. */
  overall: {
    accuracy: SourceAccuracy;
    retention: number[];
    copyLastRetention: number[];
    reconstructionRetention: number[];
    /** changed-subset accuracy averaged over heads (weighted by each head's changed count), and its total size per step */
    changed: { count: number[]; accuracy: SourceAccuracy; retention: number[] };
  };
  /** True when any probe head is below the reliability threshold (see ProbeQuality). */
  probeUnreliable: boolean;
}

/** How far predicted latents drift from the real latent distribution, per step. */
export interface LatentDrift {
  /** Held-out accuracy of a classifier separating real from predicted latents (0.5 = indistinguishable). */
  separability: number[];
  /** Fréchet distance between the real and predicted latent distributions at each step. */
  frechet: number[];
  /** The same for copy-last (the last context latent held), as a reference. */
  copyLastSeparability: number[];
  copyLastFrechet: number[];
  /** Which classifier (e.g. 'logistic, 5-fold') and how many latents per side. */
  classifier: string;
  samples: number;
}

/** Reconstruction quality per class of each label head: which situations the VAE fails on. */
export interface ReconstructionByClass {
  head: string;
  classes: { name: string; frames: number; mse: number; psnr: number; ssim: number }[];
}

/**
 * Image metrics (docs/metrics.md) are computed per frame on values in [0, 1] and averaged over
 * frames: `mse` per value, `psnr` the mean of per-frame PSNR (not the PSNR of the mean MSE; files
 * before issue 18 hold the latter), `ssim` the mean of per-frame SSIM (channels averaged),
 * `frameMse`/`frameMae` OpenSTL's per-frame sums over the C x H x W values.
 */
export interface ReconstructionSection {
  frames: number;
  mse: number;
  psnr: number;
  ssim: number;
  /** Mean absolute error per value (absent in files before issue 18). */
  mae?: number;
  /** OpenSTL's per-frame MSE and MAE: sums over the frame's values, averaged over frames. */
  frameMse?: number;
  frameMae?: number;
  perClass?: ReconstructionByClass[];
  /** Probe accuracy on real frames and on their VAE reconstructions, per head (when labeled). */
  probeAccuracy?: { head: string; real: number; reconstruction: number }[];
}

export interface RolloutSection {
  context: number;
  horizon: number;
  windows: number;
  /** Channels of the frames (3 RGB, 1 gray); absent in files before issue 18 (3). */
  channels?: number;
  latentMse: number[];
  pixelMseVsRecon: number[];
  psnrVsRecon: number[];
  ssimVsRecon: number[];
  pixelMseVsReal: number[];
  psnrVsReal: number[];
  ssimVsReal: number[];
  baselineLatentMse: number[];
  baselinePixelMseVsRecon: number[];
  baselinePixelMseVsReal: number[];
  baselinePsnrVsReal: number[];
  baselineSsimVsReal: number[];
  /** OpenSTL's per-frame MSE / MAE of the prediction, copy-last and the VAE reconstruction vs the real frame, and the reconstruction's PSNR / SSIM (absent in files before issue 18). */
  frameMseVsReal?: number[];
  frameMaeVsReal?: number[];
  baselineFrameMseVsReal?: number[];
  baselineFrameMaeVsReal?: number[];
  reconFrameMseVsReal?: number[];
  reconFrameMaeVsReal?: number[];
  reconPsnrVsReal?: number[];
  reconSsimVsReal?: number[];
  summary: Record<string, number>;
  /** Present when the data has labels and a probe was given. */
  semantic?: SemanticRetention;
  drift?: LatentDrift;
}

export interface EvalFile {
  /** Which data was evaluated ('sim seed 1001, 4 episodes x 160 steps', a file name, ...). */
  data?: string;
  /** Present when the data has labels; else `semanticNote` says why semantic metrics are absent. */
  probe?: ProbeQuality;
  semanticNote?: string;
  reconstruction?: ReconstructionSection;
  rollout?: RolloutSection;
  closedLoop?: { horizon: number; windows: number; semantic?: SemanticRetention };
}

/** eval/tsne.json: one joint embedding of real and predicted latents. */
export interface TsneFile {
  perplexity: number;
  iterations: number;
  seed: number;
  /** Trustworthiness of the embedding (k = 5 neighbours), when computed. */
  trustworthiness?: number;
  heads: LabelHead[];
  points: {
    x: number;
    y: number;
    source: 'real' | 'predicted';
    /** Rollout step (1-based) of a predicted latent, or of the true latent it is paired with. */
    step: number;
    /** True labels of the frame (one per head). */
    labels: number[];
  }[];
}

/** eval/filmstrips.json: rollout windows with the probe's labels under each imagined frame. */
export interface FilmstripFile {
  heads: LabelHead[];
  windows: {
    /** e.g. 'episode 2, frames 40..59' */
    title: string;
    mode: 'open loop' | 'closed loop';
    context: number;
    horizon: number;
    frameWidth: number;
    frameHeight: number;
    /** PNG files (relative to eval/), one strip of `horizon` frames each. */
    rows: { name: 'real' | 'reconstruction' | 'predicted'; file: string }[];
    /** [k][head]: the true labels, and the probe's reading of the predicted frames. */
    trueLabels: number[][];
    predictedLabels: number[][];
  }[];
}
