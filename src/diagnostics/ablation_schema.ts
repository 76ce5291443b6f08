/**
 * The shape of `<out>/ablation.json`, written by `worldkit ablate` (src/train/ablate.ts) and read
 * back by the report's comparison view (report.ts, writeAblationReport): one contract between the
 * ablation that measures and the page that shows, as eval_schema.ts is for a single run. Plain
 * JSON; non-finite numbers are written as strings ("NaN"), as in eval.json.
 *
 * A metric is named `<what>@<step>` for a rollout step (1-based: `retention@16`) or `<what>` for
 * one number per run (`recon_psnr`, `wall_minutes`). Over the seeds of a variant each metric is
 * summarised by its mean and its spread: the sample standard deviation (n - 1 in the
 * denominator; 0 with one seed), with the min, max and the count of seeds that had the number.
 */

/** Mean and spread of one metric over a variant's seeds. */
export interface MetricSummary {
  mean: number;
  /** Sample standard deviation over the seeds (n - 1); 0 with one seed, NaN with none. */
  std: number;
  min: number;
  max: number;
  /** Seeds that had a finite value. */
  n: number;
}

/** One (variant, seed) run as the ablation recorded it (also its folder's result.json). */
export interface AblationRun {
  variant: string;
  seed: number;
  /** Run folder, relative to the ablation's folder ('baseline/seed1'). */
  dir: string;
  /** Flat metrics of this run (see the top of this file). */
  metrics: Record<string, number>;
  /** Per-step curves (index k = step k + 1). */
  curves: Record<string, number[]>;
  /** Wall time of the phases in seconds (vae: the VAE phase it used, shared ones included). */
  seconds: { vae: number; predictor: number; evaluate: number };
  /** Optimizer steps of its VAE and predictor phases. */
  steps: { vae: number; predictor: number };
  /** True when the VAE phase was another variant's (the shared baseline VAE), not trained for this run. */
  sharedVae: boolean;
  warnings: string[];
}

/** One row of the comparison: a variant over its seeds. */
export interface AblationRow {
  variant: string;
  /** What the variant changes, in words. */
  description: string;
  seeds: number[];
  metrics: Record<string, MetricSummary>;
  /** Mean curves over the seeds (index k = step k + 1). */
  curves: Record<string, number[]>;
  /**
   * Paired differences, seed by seed: this variant's retention metrics (`retention@k`,
   * `retention_changed@k`) minus the baseline's (`baseline`) or copy-last's (`copyLast`) on the
   * same seed (same data, same test windows), summarised over the seeds both have. The seeds'
   * roads move every variant together, so a paired difference can be clear where the spreads of
   * the rows overlap. Absent in files written before they existed.
   */
  paired?: { baseline?: Record<string, MetricSummary>; copyLast?: Record<string, MetricSummary> };
}

export interface AblationFile {
  /** 'worldkit-ablation/1' */
  format: string;
  data: string;
  variants: string[];
  seeds: number[];
  /** Total wall-clock budget asked for (minutes), or null for an epoch-limited run. */
  budgetMinutes: number | null;
  /** Training minutes every variant was given (VAE phase + predictor phase; the mean over the seeds), when budgeted. */
  variantBudget: { vaeMinutes: number; predictorMinutes: number } | null;
  /** Per seed: every variant of a seed trains the same time (a seed's time is planned when it starts, from the time left). */
  seedBudgets?: { seed: number; vaeMinutes: number; predictorMinutes: number }[];
  /** Rollout steps the headline columns show. */
  steps: number[];
  horizon: number;
  context: number;
  /** How the spread is computed (shown under the tables). */
  spread: string;
  rows: AblationRow[];
  /** Copy-last (the last context frame held), from the same test windows: the reference every variant must beat where labels change. */
  copyLast: AblationRow | null;
  runs: AblationRun[];
  /** Wall time of the whole ablation so far (minutes, the runs of earlier sessions included). */
  wallMinutes: number;
  /** Variants or runs that did not finish, with why. */
  missing: { variant: string; seed: number; reason: string }[];
  notes: string[];
}

export const ABLATION_FORMAT = 'worldkit-ablation/1';
