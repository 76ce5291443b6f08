/** `worldkit ablate`: the baseline and each remedy of issue 12 on the same data, seeds and budget, compared (src/train/ablate.ts). */
import * as fs from 'fs';
import * as path from 'path';
import { Command } from '../command';
import { UsageError } from '../flags';
import { ABLATE_FULL, ABLATION_VARIANTS, AblationConfig, ablate } from '../../train/ablate';
import { DEVICE_FLAG, deviceFlag, interruptible, jsonConfigFlag, progress } from '../train_support';

export const command: Command = {
  name: 'ablate',
  summary: 'train the baseline and each remedy (perceptual, adversarial, classification, end-to-end, bigger VAE) on the same data, seeds and budget, and compare them',
  usage: `worldkit ablate [--data sim|mmnist|file.npz] [--variants ${ABLATION_VARIANTS.join(',')}] [--seeds 3] [--budget_minutes M] [--out runs/ablate]

Trains every variant on the same data with the same seeds and the same training time, evaluates
each (variant, seed) run with the semantic diagnostics on held-out test episodes, and writes
OUT/ablation.md (mean ± standard deviation over the seeds), OUT/ablation.json and OUT/report.html
(the comparison view; also \`worldkit report OUT\`). Each run lives in OUT/<variant>/seed<k>/.
--budget_minutes is the wall time of the whole ablation: after the data, the probes and a timed
evaluation, the time is split so every variant trains equally long (VAE phase + predictor
phase; variants sharing the baseline VAE count its phase without spending it again).
Rerunning the same command resumes: finished runs are skipped, interrupted trainings continue
from their checkpoints. Ctrl-C saves a checkpoint and exits (exit code 130). See docs/remedies.md.`,
  flags: [
    { name: 'data', type: 'string', default: 'sim', metavar: 'sim|mmnist|file.npz', help: "'sim' (driving simulator), 'mmnist' (Moving MNIST), or a .npz file / folder of episodes" },
    { name: 'variants', type: 'string', default: ABLATION_VARIANTS.join(','), metavar: 'list', help: `comma-separated, among ${ABLATION_VARIANTS.join(', ')}` },
    { name: 'seeds', type: 'int', default: 3, help: 'seeds per variant (1..n)' },
    { name: 'budget_minutes', type: 'number', metavar: 'min', help: 'wall time of the whole ablation (default: no budget, the configuration\'s epochs)' },
    { name: 'out', type: 'string', default: path.join('runs', 'ablate'), metavar: 'dir', help: 'output folder' },
    { name: 'quick', type: 'boolean', default: false, help: 'tiny data and models (the demo --quick sizes)' },
    { name: 'perceptual_weight', type: 'number', help: `λ of the perceptual variants (default ${ABLATE_FULL.perceptualWeight})` },
    { name: 'adversarial_weight', type: 'number', help: `λ of the adversarial variants (default ${ABLATE_FULL.adversarialWeight})` },
    { name: 'classification_weight', type: 'number', help: `λ of the classification variants (default ${ABLATE_FULL.classificationWeight})` },
    { name: 'vae_lr', type: 'number', help: `learning rate of the VAE in the end-to-end variants (default ${ABLATE_FULL.endToEndVaeLr})` },
    { name: 'config', type: 'string', metavar: 'json|file', help: 'other sizes as a JSON object of configuration fields (e.g. {"trainEpisodes": 8})' },
    { name: 'cache_dir', type: 'string', metavar: 'dir', help: 'episode and probe cache (default $WORLDKIT_CACHE or ~/.cache/worldkit)' },
    DEVICE_FLAG,
  ],
  async run({ flags }, io) {
    const device = deviceFlag(flags);
    const b = flags.budget_minutes as number | undefined;
    if (b !== undefined && !(b > 0 && Number.isFinite(b))) throw new UsageError(`--budget_minutes must be a number of minutes > 0, got ${b}`);
    const variants = String(flags.variants).split(',').map((s) => s.trim()).filter(Boolean);
    const bad = variants.filter((v) => !(ABLATION_VARIANTS as readonly string[]).includes(v));
    if (bad.length || !variants.length) throw new UsageError(`--variants: ${bad.length ? `unknown variant${bad.length > 1 ? 's' : ''} ${bad.join(', ')}` : 'empty list'} (choose among ${ABLATION_VARIANTS.join(', ')})`);
    const seeds = flags.seeds as number;
    if (!(seeds >= 1 && seeds <= 100)) throw new UsageError(`--seeds must be in 1..100, got ${seeds}`);
    const data = String(flags.data);
    if (data !== 'sim' && data !== 'mmnist' && !fs.existsSync(data)) throw new UsageError(`--data ${data}: no such file or folder (expected sim, mmnist or a .npz file / folder)`);
    const config: Partial<AblationConfig> = { ...(jsonConfigFlag(flags.config, ABLATE_FULL) ?? {}) };
    const num = (flag: string, key: keyof AblationConfig) => {
      const v = flags[flag];
      if (v === undefined) return;
      if (typeof v !== 'number' || !(v >= 0)) throw new UsageError(`--${flag} must be a number >= 0, got ${String(v)}`);
      (config as Record<string, unknown>)[key] = v;
    };
    num('perceptual_weight', 'perceptualWeight');
    num('adversarial_weight', 'adversarialWeight');
    num('classification_weight', 'classificationWeight');
    num('vae_lr', 'endToEndVaeLr');
    const intr = interruptible(io);
    try {
      const r = await ablate({
        data,
        variants: variants.join(','),
        seeds,
        budgetMinutes: b,
        outDir: flags.out as string,
        quick: flags.quick as boolean,
        config,
        cacheDir: (flags.cache_dir as string | undefined) ?? undefined,
        device,
        log: (l) => io.out(l),
        callbacks: (label) => progress(io, label),
        signal: intr.signal,
      });
      if (r.tableFile) {
        io.out('');
        for (const line of fs.readFileSync(r.tableFile, 'utf8').trimEnd().split('\n')) io.out(line);
        io.out('');
        io.out(`table: ${r.tableFile}`);
        io.out(`report: ${r.reportFile}`);
      }
      io.out(`${r.ran.length} run(s) trained and evaluated, ${r.skipped.length} done before; ${(r.seconds / 60).toFixed(1)} min`);
      if (r.interrupted) {
        io.out(`interrupted: rerun the same command to resume (${r.outDir})`);
        return 130;
      }
      const failed = r.ablation?.missing.length ?? 0;
      return failed ? 1 : 0;
    } catch (e) {
      // a folder started with other options, a variant this build cannot run, a budget too small: the call's fault
      const m = (e as Error).message ?? '';
      if (/^ablate: /.test(m)) throw new UsageError(m.replace(/^ablate: /, ''));
      throw e;
    } finally {
      intr.release();
    }
  },
};
