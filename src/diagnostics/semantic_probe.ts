/**
 * Training, judging, saving and reusing the SemanticProbe (src/models/semantic_probe.ts).
 *
 *   const { probe, quality } = await trainSemanticProbe(trainEpisodes, { heldOut: valEpisodes });
 *   quality.heads[i].accuracy / .balancedAccuracy / .reliable   (held-out, real frames)
 *   const p = ensureSemanticProbe('runs/x/probe', trainEpisodes, { heldOut })  // trains once, then reuses
 *
 * The probe trains on *real* frames only, and its held-out episodes must not be the test episodes
 * the world model is judged on (nothing is tuned on the test split). A probe is saved with a key:
 * a sha256 of the frames and labels it was trained and checked on and of its options, so a run
 * folder's (or the shared cache's) probe is reused for the same data and retrained for other data
 * instead of silently measuring with a probe of another dataset.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { SemanticProbe, SemanticProbeOptions } from '../models/semantic_probe';
import type { Episode, LabelHead } from '../data/episode';
import { channelsOf, labelHeadsOf } from '../data/episode';
import { Adam } from '../optim/adam';
import { LRScheduler, cosine } from '../optim/schedules';
import { tidy } from '../tensor/scope';
import { Tensor } from '../tensor/tensor';
import { crossEntropy } from '../losses/index';
import { framesToImages } from '../rollout/index';
import { gatherFrames } from '../train/data';
import { Generator } from '../random/generator';
import { saveSafetensors, loadSafetensorsWithMetadata } from '../io/safetensors';
import { writeFileAtomic } from '../io/atomic_file';
import { checkInt, checkNumber, typeError } from '../errors';
import type { ProbeQuality } from './eval_schema';

/** Held-out accuracy a head needs before its retention figures are trusted. */
export const PROBE_RELIABLE_ACCURACY = 0.95;

export interface TrainProbeOptions {
  /** Held-out episodes the quality is measured on (never the world model's test episodes). */
  heldOut?: Episode[];
  /** Label heads (default: labelHeadsOf(episodes)). */
  heads?: LabelHead[];
  /** Architecture options (inputShape is taken from the data). */
  probe?: Omit<SemanticProbeOptions, 'heads' | 'inputShape'>;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  /** Seed of the weights and the example order (default 1). */
  seed?: number;
  /** Training examples used at most per epoch (default: all). */
  maxExamplesPerEpoch?: number;
  /** Train on horizontally mirrored frames too (each example mirrored with probability 1/2, its
   * labels mapped by the heads' `mirror`) (default: true when every head defines `mirror`). */
  mirror?: boolean;
  log?(line: string): void;
}

export interface TrainedProbe {
  probe: SemanticProbe;
  quality: ProbeQuality;
}

/** Checks episodes carry labels; throws the message every semantic metric gives on unlabeled data. */
export function requireLabels(fn: string, episodes: Episode[]): LabelHead[] {
  if (!Array.isArray(episodes) || episodes.length === 0) throw typeError(fn, 'episodes', 'a non-empty array of episodes', episodes);
  const heads = labelHeadsOf(episodes);
  if (!heads.length || episodes.some((e) => !e.labels || e.labelDim !== heads.length))
    throw new RangeError(`${fn}: semantic metrics need per-frame labels, and these episodes have none (labelDim ${episodes[0].labelDim}); the driving simulator and Moving MNIST provide them, an .npz file needs a 'labels' array [T, K]`);
  return heads;
}

/** uint8 HWC frames of (episode, t) pairs -> float NCHW images in [0, 1] (C: the episodes' channels, the probe's inputShape[0]). */
function gatherImages(eps: Episode[], refs: [number, number][], H: number, W: number): Float32Array {
  return framesToImages(gatherFrames(eps, refs).data() as Uint8Array, refs.length, H, W, channelsOf(eps[0]));
}

/** Mirrors float NCHW images left-right in place. */
function mirrorImages(images: Float32Array, n: number, C: number, H: number, W: number, which: (i: number) => boolean): void {
  for (let i = 0; i < n; ++i) {
    if (!which(i)) continue;
    for (let r = 0; r < C * H; ++r) {
      const o = (i * C * H + r) * W;
      for (let x = 0; x < W >> 1; ++x) {
        const a = images[o + x];
        images[o + x] = images[o + W - 1 - x];
        images[o + W - 1 - x] = a;
      }
    }
  }
}

/** (episode, t) of every frame that has a predecessor (t >= 1), or every frame without pairs. */
function exampleRefs(eps: Episode[], pairs: boolean): [number, number][] {
  const refs: [number, number][] = [];
  eps.forEach((e, i) => {
    for (let t = pairs ? 1 : 0; t < e.length; ++t) refs.push([i, t]);
  });
  return refs;
}

/** Probe predictions [n, heads] for the frames (and predecessors) at refs. */
export function classifyEpisodeFrames(probe: SemanticProbe, eps: Episode[], refs: [number, number][], batch = 128): Int32Array {
  const [, H, W] = probe.inputShape;
  const nh = probe.heads.length;
  const out = new Int32Array(refs.length * nh);
  for (let i = 0; i < refs.length; i += batch) {
    const part = refs.slice(i, i + batch);
    const imgs = gatherImages(eps, part, H, W);
    const prev = probe.pairs ? gatherImages(eps, part.map(([e, t]) => [e, Math.max(0, t - 1)]), H, W) : null;
    out.set(probe.classify(imgs, prev, part.length), i * nh);
  }
  return out;
}

/** Accuracy, balanced accuracy and class counts of predictions [n, heads] against labels [n, heads]. */
export function headScores(pred: Int32Array, truth: Int32Array, heads: LabelHead[]): ProbeQuality['heads'] {
  const nh = heads.length;
  const n = pred.length / nh;
  return heads.map((h, j) => {
    const K = h.classes.length;
    const count = new Array<number>(K).fill(0);
    const right = new Array<number>(K).fill(0);
    let ok = 0;
    for (let i = 0; i < n; ++i) {
      const y = truth[i * nh + j];
      if (y >= 0 && y < K) count[y]++;
      if (pred[i * nh + j] === y) {
        ok++;
        if (y >= 0 && y < K) right[y]++;
      }
    }
    const present = count.map((c, k) => (c ? right[k] / c : -1)).filter((v) => v >= 0);
    const accuracy = n ? ok / n : NaN;
    return {
      name: h.name,
      classes: [...h.classes],
      accuracy,
      balancedAccuracy: present.length ? present.reduce((s, v) => s + v, 0) / present.length : NaN,
      classCounts: count,
      reliable: accuracy >= PROBE_RELIABLE_ACCURACY,
    };
  });
}

/** The probe's quality on held-out real frames of labeled episodes. */
export function probeQuality(probe: SemanticProbe, heldOut: Episode[], trainFrames = 0): ProbeQuality {
  requireLabels('probeQuality', heldOut);
  const refs = exampleRefs(heldOut, probe.pairs);
  const pred = classifyEpisodeFrames(probe, heldOut, refs);
  const nh = probe.heads.length;
  const truth = new Int32Array(refs.length * nh);
  refs.forEach(([e, t], i) => truth.set(heldOut[e].labels!.subarray(t * nh, (t + 1) * nh), i * nh));
  return { heads: headScores(pred, truth, probe.heads), threshold: PROBE_RELIABLE_ACCURACY, trainFrames, heldOutFrames: refs.length, pairs: probe.pairs };
}

/** Trains a SemanticProbe on the real frames of labeled episodes; reports held-out quality. */
export async function trainSemanticProbe(episodes: Episode[], opts: TrainProbeOptions = {}): Promise<TrainedProbe> {
  const fn = 'trainSemanticProbe';
  const heads = opts.heads ?? requireLabels(fn, episodes);
  requireLabels(fn, episodes);
  const e0 = episodes[0];
  const epochs = checkInt(fn, 'epochs', opts.epochs ?? 6, 1, 10000);
  const batchSize = checkInt(fn, 'batchSize', opts.batchSize ?? 32, 1, 4096);
  const lr = checkNumber(fn, 'lr', opts.lr ?? 2e-3, 0, 10);
  const seed = checkInt(fn, 'seed', opts.seed ?? 1, 0, 2 ** 53);
  const log = opts.log ?? (() => {});
  const probe = new SemanticProbe({ ...(opts.probe ?? {}), heads, inputShape: [channelsOf(e0), e0.height, e0.width], seed });
  const [C, H, W] = probe.inputShape;
  const nh = heads.length;
  const refs = exampleRefs(episodes, probe.pairs);
  const perEpoch = Math.min(refs.length, opts.maxExamplesPerEpoch ?? refs.length);
  const steps = epochs * Math.ceil(perEpoch / batchSize);
  const optimizer = new Adam(probe, { lr });
  const schedule = new LRScheduler(optimizer, cosine(steps, { warmup: Math.min(50, Math.floor(steps / 10)), minLr: lr * 0.02 }));
  const order = new Generator(seed).fork(7);
  const canMirror = heads.every((h) => Array.isArray(h.mirror) && h.mirror.length === h.classes.length);
  const mirror = opts.mirror ?? canMirror;
  if (mirror && !canMirror) throw new RangeError(`${fn}: mirror needs every label head to define its mirror classes (heads ${heads.filter((h) => !h.mirror).map((h) => h.name).join(', ')} do not)`);
  const flips = new Generator(seed).fork(8);
  const t0 = performance.now();
  probe.train();
  for (let ep = 0; ep < epochs; ++ep) {
    // Fisher-Yates over the example indices with the seeded generator: the order is a pure function of the seed.
    const idx = Array.from({ length: refs.length }, (_, i) => i);
    const u = new Float32Array(refs.length);
    order.fillUniform(u, 0, 1);
    for (let i = refs.length - 1; i > 0; --i) {
      const j = Math.min(i, Math.floor(u[i] * (i + 1)));
      [idx[i], idx[j]] = [idx[j], idx[i]];
    }
    let lossSum = 0, batches = 0;
    for (let b = 0; b < perEpoch; b += batchSize) {
      const part = idx.slice(b, Math.min(perEpoch, b + batchSize)).map((i) => refs[i]);
      const imgs = gatherImages(episodes, part, H, W);
      const prev = probe.pairs ? gatherImages(episodes, part.map(([e, t]) => [e, t - 1]), H, W) : null;
      const flipped = new Float32Array(part.length);
      if (mirror) {
        flips.fillUniform(flipped);
        mirrorImages(imgs, part.length, C, H, W, (i) => flipped[i] < 0.5);
        if (prev) mirrorImages(prev, part.length, C, H, W, (i) => flipped[i] < 0.5);
      }
      lossSum += tidy(() => {
        const logits = probe.forward(probe.input(imgs, prev, part.length));
        let loss: Tensor | null = null;
        logits.forEach((l, h) => {
          const y = Int32Array.from(part, ([e, t], i) => {
            const v = episodes[e].labels![t * nh + h];
            return mirror && flipped[i] < 0.5 ? heads[h].mirror![v] : v;
          });
          const ce = crossEntropy(l, y);
          loss = loss ? loss.add(ce) : ce;
        });
        optimizer.zeroGrad();
        loss!.backward();
        optimizer.step();
        schedule.step();
        return loss!.item();
      });
      batches++;
    }
    log(`probe epoch ${ep + 1}/${epochs}: loss ${(lossSum / batches).toFixed(4)} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    await new Promise((r) => setImmediate(r));
  }
  probe.eval();
  const quality = opts.heldOut?.length ? probeQuality(probe, opts.heldOut, refs.length) : { heads: [], threshold: PROBE_RELIABLE_ACCURACY, trainFrames: refs.length, heldOutFrames: 0, pairs: probe.pairs };
  return { probe, quality };
}

/** sha256 over the frames and labels of episodes: which data a probe was trained on. */
export function dataFingerprint(episodes: Episode[]): string {
  const h = crypto.createHash('sha256');
  for (const e of episodes) {
    h.update(`${e.length}x${e.height}x${e.width}/${e.labelDim};`);
    h.update(e.frames);
    if (e.labels) h.update(new Uint8Array(e.labels.buffer, e.labels.byteOffset, e.labels.byteLength));
  }
  return h.digest('hex');
}

const PROBE_FILE = 'probe.safetensors';
const PROBE_META = 'probe.json';

interface ProbeMeta {
  format: 'worldkit-semantic-probe';
  version: 1;
  options: SemanticProbe['options'];
  quality: ProbeQuality;
  trainData: string;
}

/** Writes probe.safetensors (weights) and probe.json (options, quality, data fingerprint) to dir. */
export function saveSemanticProbe(dir: string, trained: TrainedProbe, trainData: string): void {
  fs.mkdirSync(dir, { recursive: true });
  saveSafetensors(path.join(dir, PROBE_FILE), trained.probe.stateDict(), { format: 'worldkit-semantic-probe' });
  const meta: ProbeMeta = { format: 'worldkit-semantic-probe', version: 1, options: trained.probe.options, quality: trained.quality, trainData };
  writeFileAtomic(path.join(dir, PROBE_META), JSON.stringify(meta, null, 1) + '\n');
}

/** Loads a probe saved by saveSemanticProbe; errors name the file and what is wrong. */
export function loadSemanticProbe(dir: string): TrainedProbe & { trainData: string } {
  const fn = 'loadSemanticProbe';
  const metaFile = path.join(dir, PROBE_META);
  if (!fs.existsSync(metaFile)) throw new Error(`${fn}: ${metaFile} does not exist (no probe saved in ${dir})`);
  let meta: ProbeMeta;
  try {
    meta = JSON.parse(fs.readFileSync(metaFile, 'utf8'));
  } catch (e) {
    throw new Error(`${fn}: ${metaFile} is not valid JSON (${(e as Error).message})`);
  }
  if (!meta || meta.format !== 'worldkit-semantic-probe' || meta.version !== 1 || !meta.options || !meta.quality)
    throw new Error(`${fn}: ${metaFile} is not a worldkit semantic probe description (format/version/options/quality missing)`);
  const probe = new SemanticProbe(meta.options);
  const file = path.join(dir, PROBE_FILE);
  let weights;
  try {
    weights = loadSafetensorsWithMetadata(file).tensors;
  } catch (e) {
    throw new Error(`${fn}: cannot read ${file}: ${(e as Error).message}`);
  }
  try {
    probe.loadStateDict(weights);
  } catch (e) {
    throw new Error(`${fn}: ${file} does not match ${metaFile}: ${(e as Error).message}`);
  }
  probe.eval();
  return { probe, quality: meta.quality, trainData: meta.trainData };
}

/**
 * The probe of `dir` when it was trained on exactly these episodes with the same options; else
 * the same from the shared cache (`cacheDir`/semantic_probe/, copied into dir); else trains one
 * (opts as for trainSemanticProbe), saves it to dir (and the cache) and returns it. `reused` says
 * whether training was skipped.
 */
export async function ensureSemanticProbe(
  dir: string,
  episodes: Episode[],
  opts: TrainProbeOptions & { cacheDir?: string | false } = {},
): Promise<TrainedProbe & { reused: boolean }> {
  const { cacheDir, log: logFn, heldOut, ...trainOpts } = opts;
  // The key: the training data, the held-out data the quality was measured on, and every option.
  const key = crypto
    .createHash('sha256')
    .update(dataFingerprint(episodes))
    .update(heldOut ? dataFingerprint(heldOut) : '-')
    .update(JSON.stringify(trainOpts))
    .digest('hex');
  const tryLoad = (d: string): (TrainedProbe & { trainData: string }) | null => {
    if (!fs.existsSync(path.join(d, PROBE_META))) return null;
    try {
      const p = loadSemanticProbe(d);
      if (p.trainData === key) return p;
      logFn?.(`probe in ${d} was trained on other data or options: not used`);
    } catch (e) {
      logFn?.(`probe in ${d} cannot be used (${(e as Error).message})`);
    }
    return null;
  };
  const own = tryLoad(dir);
  if (own) return { probe: own.probe, quality: own.quality, reused: true };
  const shared = cacheDir ? path.join(cacheDir, 'semantic_probe', key.slice(0, 32)) : null;
  const cached = shared ? tryLoad(shared) : null;
  if (cached) {
    saveSemanticProbe(dir, cached, key);
    logFn?.(`probe reused from ${shared}`);
    return { probe: cached.probe, quality: cached.quality, reused: true };
  }
  const trained = await trainSemanticProbe(episodes, { ...trainOpts, heldOut, log: logFn });
  saveSemanticProbe(dir, trained, key);
  if (shared) saveSemanticProbe(shared, trained, key);
  return { ...trained, reused: false };
}
