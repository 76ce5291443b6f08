// How much of the label k steps ahead do the context and the actions determine? For each k, fits
// a classifier (worldkit's LatentClassifier on a flat input) from what a predictor sees at the last
// context frame t (the VAE latent z_t, the motion z_t - z_{t-1}, and the actions a_t .. a_{t+k-1})
// to the labels of frame t + k, on training roads, and scores it on validation roads (sim seed
// 7001, as predictor_meaning.ts; never the demo's test roads). k = 0 reads the current frame's
// labels: the classifier's own limit. Usage:
//   node -r ./test/helpers/ts_register.js scripts/experiments/knowable_ceiling.ts runs/demo/vae '{"episodes":96}'
// Options: "episodes" (training roads, default 96), "steps" (classifier steps, default 4000),
// "hidden" (default 256), "ks" (default [0, 1, 4, 8, 16]). Prints per k and head the classifier's
// validation accuracy, copy-last's (label_t for label_{t+k}) on the same samples, and their
// ratios to k = 0. Results: docs/remedies.md.
import { generateEpisodes, SIM_LABEL_HEADS } from '../../src/data/driving_sim';
import { defaultCacheDir } from '../../src/data/episode_cache';
import type { Episode } from '../../src/data/episode';
import { loadVAE } from '../../src/train/load';
import { encodeEpisodes, LatentEpisode } from '../../src/train/train_predictor';
import { fitLatentClassifier, LatentClassifier } from '../../src/models/latent_classifier';

/** Samples (t, k) of every episode: features [z_t, z_t - z_{t-1}, a_t..a_{t+k-1}], labels of t + k, and label_t. */
function samples(eps: Episode[], lat: LatentEpisode[], k: number) {
  const D = lat[0].latentSize, A = eps[0].actionDim, H = eps[0].labelDim!;
  const F = 2 * D + A * k;
  const n = eps.reduce((s, ep) => s + Math.max(0, ep.length - k - 3), 0);
  const x = new Float32Array(n * F), y = new Int32Array(n * H), now = new Int32Array(n * H);
  let r = 0;
  eps.forEach((ep, e) => {
    const z = lat[e].z;
    for (let t = 3; t + k < ep.length; ++t, ++r) {
      const o = r * F;
      for (let i = 0; i < D; ++i) {
        x[o + i] = z[t * D + i];
        x[o + D + i] = z[t * D + i] - z[(t - 1) * D + i];
      }
      for (let i = 0; i < A * k; ++i) x[o + 2 * D + i] = ep.actions[t * A + i];
      for (let h = 0; h < H; ++h) {
        y[r * H + h] = ep.labels![(t + k) * H + h];
        now[r * H + h] = ep.labels![t * H + h];
      }
    }
  });
  return { x, y, now, F, H };
}

(async () => {
  const vaeDir = process.argv[2];
  const cfg = JSON.parse(process.argv[3] ?? '{}');
  if (!vaeDir) throw new Error('usage: knowable_ceiling.ts <vae checkpoint folder> [<options json>]');
  const cacheDir = defaultCacheDir();
  const train = generateEpisodes({ episodes: cfg.episodes ?? 96, steps: 160, seed: 1, cacheDir });
  const val = generateEpisodes({ episodes: 8, steps: 160, seed: 7001, cacheDir });
  const vae = loadVAE(vaeDir);
  vae.freeze().eval();
  const [lt, lv] = [encodeEpisodes(vae, train), encodeEpisodes(vae, val)];
  const rows: Record<string, unknown>[] = [];
  for (const k of (cfg.ks ?? [0, 1, 4, 8, 16]) as number[]) {
    const tr = samples(train, lt, k), va = samples(val, lv, k);
    const clf = new LatentClassifier({ latentShape: [tr.F], heads: SIM_LABEL_HEADS, hidden: cfg.hidden ?? 256, seed: 1 });
    const fit = fitLatentClassifier(clf, tr.x, tr.y, { steps: cfg.steps ?? 4000, batchSize: 64, lr: 1e-3, seed: 1, heldOut: { z: va.x, labels: va.y } });
    const copyLast = SIM_LABEL_HEADS.map((_, h) => {
      let ok = 0;
      for (let i = h; i < va.y.length; i += va.H) ok += va.y[i] === va.now[i] ? 1 : 0;
      return ok / (va.y.length / va.H);
    });
    rows.push({ k, samples: va.y.length / va.H, train: fit.accuracy.map((a) => +a.toFixed(3)), val: fit.heldOutAccuracy!.map((a) => +a.toFixed(3)), copyLast: copyLast.map((a) => +a.toFixed(3)) });
    console.log(JSON.stringify(rows[rows.length - 1]));
  }
  const base = rows.find((r) => r.k === 0)?.val as number[] | undefined;
  if (base) for (const r of rows) console.log(`k=${r.k}: val/val(k=0) per head ${(r.val as number[]).map((a, h) => (a / base[h]).toFixed(3)).join(' ')}, mean ${((r.val as number[]).reduce((s, a, h) => s + a / base[h], 0) / base.length).toFixed(3)}; copy-last ${(r.copyLast as number[]).map((a) => a.toFixed(3)).join(' ')}`);
})();
