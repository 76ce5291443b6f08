/**
 * `worldkit eval`: every diagnostic of src/diagnostics/world_model_eval.ts on held-out data —
 * reconstruction (per label class), per-step rollout error vs copy-last-frame, semantic retention
 * (the probe), real-vs-predicted latent drift, t-SNE — written to --out with report.html.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Command } from '../command';
import { evaluateWorldModel } from '../../diagnostics/world_model_eval';
import { ensureSemanticProbe, loadSemanticProbe, TrainedProbe } from '../../diagnostics/semantic_probe';
import { writeReport } from '../../diagnostics/report';
import { labelHeadsOf } from '../../data/episode';
import { generateEpisodes } from '../../data/driving_sim';
import { defaultCacheDir } from '../../data/episode_cache';
import { UsageError } from '../flags';
import { DATA_FLAGS, DEVICE_FLAG, deviceFlag, loadData, openPredictor, openVAE } from '../train_support';

export const command: Command = {
  name: 'eval',
  summary: 'evaluate: reconstruction, rollout error and semantic retention per step vs copy-last, latent drift, t-SNE; JSON + SVG + report.html',
  usage: `worldkit eval --vae runs/demo/vae [--predictor runs/demo/predictor] [flags]

Without --predictor only the VAE's reconstruction is measured. Writes eval.json, tsne.json,
filmstrips.json and *_per_step.svg charts to --out/eval and report.html to --out.
Semantic metrics need labeled data and a probe: --probe DIR reuses a saved probe (e.g.
runs/demo/probe); else one is trained on --probe_data (default for --data sim: fresh simulator
episodes of another seed, never the evaluated ones) and saved to --probe (default --out/probe).
--device cuda runs the models on the GPU (exit code 2 without one).`,
  flags: [
    { name: 'vae', type: 'string', metavar: 'dir', help: 'VAE checkpoint; required' },
    { name: 'predictor', type: 'string', metavar: 'dir', help: 'predictor checkpoint' },
    ...DATA_FLAGS.map((f) => (f.name === 'data_seed' ? { ...f, default: 1001, help: 'sim: seed (default: unlike the training data)' } : f.name === 'episodes' ? { ...f, default: 4 } : f)),
    { name: 'context', type: 'int', default: 4, help: 'real frames given to the model' },
    { name: 'horizon', type: 'int', default: 16, help: 'imagined steps' },
    { name: 'windows', type: 'int', default: 96, help: 'rollout windows evaluated at most' },
    { name: 'window_stride', type: 'int', default: 4, help: 'frames between window starts' },
    { name: 'probe', type: 'string', metavar: 'dir', help: 'semantic probe folder: reused when it holds a probe of the same data, else trained and saved there (default --out/probe)' },
    { name: 'probe_data', type: 'string', metavar: 'sim|file.npz|dir', help: 'labeled training data of the probe (default with --data sim: simulator episodes of seed data_seed+2000)' },
    { name: 'probe_episodes', type: 'int', default: 96, help: 'sim: episodes the probe trains on (as the demo)' },
    { name: 'probe_epochs', type: 'int', default: 8, help: 'probe training epochs' },
    { name: 'out', type: 'string', default: path.join('runs', 'eval'), metavar: 'dir', help: 'output folder (eval/ and report.html inside)' },
    DEVICE_FLAG,
  ],
  async run({ flags, given }, io) {
    const device = deviceFlag(flags);
    const vae = openVAE(flags.vae, device);
    const predictor = flags.predictor !== undefined ? openPredictor(flags.predictor, device) : null;
    const eps = loadData(flags, given);
    const out = flags.out as string;
    const log = (l: string) => io.out(l);
    let probe: (TrainedProbe & { reused?: boolean }) | undefined;
    if (labelHeadsOf(eps).length) {
      const dir = (flags.probe as string | undefined) ?? path.join(out, 'probe');
      const steps = flags.steps as number;
      const seed = (flags.data_seed as number) + 2000;
      const pd = flags.probe_data as string | undefined;
      if (pd !== undefined || String(flags.data ?? 'sim') === 'sim') {
        const train = pd === undefined || pd === 'sim'
          ? generateEpisodes({ episodes: flags.probe_episodes as number, steps, seed })
          : loadData({ ...flags, data: pd });
        const heldOut = pd === undefined || pd === 'sim' ? generateEpisodes({ episodes: 8, steps, seed: seed + 1 }) : undefined;
        probe = await ensureSemanticProbe(dir, train, { heldOut, epochs: flags.probe_epochs as number, log, cacheDir: defaultCacheDir() });
        io.out(`probe ${probe.reused ? 'reused from' : 'trained and saved to'} ${dir}`);
      } else if (flags.probe !== undefined && fs.existsSync(path.join(dir, 'probe.json'))) {
        probe = loadSemanticProbe(dir);
      } else {
        throw new UsageError('semantic metrics on file data need a probe: --probe DIR (a saved probe) or --probe_data FILE (labeled training data, not the evaluated file)');
      }
    }
    const r = evaluateWorldModel(vae, predictor, eps, path.join(out, 'eval'), {
      context: flags.context as number,
      horizon: flags.horizon as number,
      windows: flags.windows as number,
      windowStride: flags.window_stride as number,
      probe,
      data: String(flags.data ?? 'sim') === 'sim' ? `driving simulator, ${flags.episodes} episodes of ${flags.steps} steps (seed ${flags.data_seed})` : String(flags.data),
      log,
    });
    const rec = r.reconstruction!;
    io.out(`VAE reconstruction (${rec.frames} frames): MSE ${rec.mse.toExponential(3)}, PSNR ${rec.psnr.toFixed(2)} dB, SSIM ${rec.ssim.toFixed(3)}`);
    if (r.semanticNote) io.out(`semantic metrics: ${r.semanticNote}`);
    for (const h of r.probe?.heads ?? []) io.out(`probe ${h.name}: held-out accuracy ${(100 * h.accuracy).toFixed(1)}%${h.reliable ? '' : ' (UNRELIABLE: below 95%)'}`);
    const ro = r.rollout;
    if (ro) {
      const sem = ro.semantic;
      io.out(`step  latentMSE  copy-last  PSNR(real)  copy-last  SSIM(real)  copy-last${sem ? '  retention  copy-last  recon' : ''}`);
      for (let k = 0; k < ro.horizon; ++k)
        io.out(
          `${String(k + 1).padStart(4)}  ${ro.latentMse[k].toExponential(2)}   ${ro.baselineLatentMse[k].toExponential(2)}   ${ro.psnrVsReal[k].toFixed(2).padStart(8)}  ${ro.baselinePsnrVsReal[k].toFixed(2).padStart(8)}   ${ro.ssimVsReal[k].toFixed(3).padStart(8)}  ${ro.baselineSsimVsReal[k].toFixed(3).padStart(8)}` +
            (sem ? `  ${sem.overall.retention[k].toFixed(3).padStart(9)}  ${sem.overall.copyLastRetention[k].toFixed(3).padStart(9)}  ${sem.overall.reconstructionRetention[k].toFixed(3).padStart(5)}` : ''),
        );
    }
    const report = writeReport([out]);
    io.out(`wrote ${path.join(out, 'eval')} (eval.json, tsne.json, filmstrips, charts)`);
    io.out(`report: ${report.file}`);
    return 0;
  },
};
