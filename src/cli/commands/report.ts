/** `worldkit report`: one self-contained report.html from run folders (src/diagnostics/report.ts). */
import { Command } from '../command';
import { UsageError } from '../flags';
import { runDirProblem, writeReport } from '../../diagnostics/report';

export const command: Command = {
  name: 'report',
  summary: 'one self-contained report.html from run folders: semantic retention, filmstrips with probe labels, per-step curves, t-SNE, comparison',
  usage: `worldkit report RUN_DIR [RUN_DIR...] [--out file.html]

A RUN_DIR is a run folder with an eval/ folder inside (runs/demo, written by worldkit demo) or an
eval folder itself (written by worldkit eval --out). The report opens with where and when the
meaning of the imagined frames is lost (semantic retention at steps 1/4/8/16 against copy-last
and the VAE's ceiling), then the probe's quality, reconstructions, rollout filmstrips with the
probe's label under each predicted frame, per-step curves, the t-SNE of real and predicted
latents and the training curves; with several RUN_DIRs it starts with a comparison table and
overlaid retention curves. Sections whose files are missing (unlabeled data, no predictor, an
older run) say so. The page needs no network and runs no script. Prints the path written
(default RUN_DIR/report.html for one run, ./report.html for several). See docs/report.md.`,
  flags: [
    { name: 'out', type: 'string', metavar: 'file.html', help: 'output file (default RUN_DIR/report.html for one run, ./report.html for several)' },
    { name: 'title', type: 'string', metavar: 'text', help: 'page title (default: worldkit report: <run names>)' },
  ],
  run({ flags, positionals }, io) {
    if (!positionals.length) throw new UsageError('needs at least one RUN_DIR (a run folder with eval/ inside, like runs/demo, or an eval folder)');
    for (const d of positionals) {
      const problem = runDirProblem(d);
      if (problem) throw new UsageError(problem);
    }
    const r = writeReport(positionals, { out: flags.out as string | undefined, title: flags.title as string | undefined });
    io.out(r.file);
    return 0;
  },
};
