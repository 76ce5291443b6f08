/**
 * Batches of fixed-length windows over episodes, for training world models.
 *
 *   const ds = new SequenceDataset(episodes, { seqLen: 16, stride: 8, batchSize: 4, seed: 1, valFraction: 0.1 });
 *   for (const b of ds.train.batches(epoch)) { b.frames; b.actions; b.labels }
 *
 * - Windows: every start t = 0, stride, 2*stride, ... with t + seqLen <= episode length.
 * - Split by episode (never a window of one episode on both sides): the episodes are shuffled
 *   with the seed and the first ceil(valFraction * n) go to validation (at least one when
 *   valFraction > 0 and there are two or more episodes).
 * - Each epoch visits every window of a split exactly once, in an order shuffled by
 *   Generator(seed).fork(epoch) (the same seed and epoch give the same order); the last batch
 *   may be smaller unless dropLast.
 * - Batch tensors are plain typed arrays, row-major:
 *     frames  uint8  [B,T,C,H,W] (layout 'chw', the default, PyTorch's NCHW per frame) or
 *                    [B,T,H,W,C] (layout 'hwc', as stored: no transpose, the cheapest);
 *                    C is the episodes' channels (3, or 1 for gray Moving MNIST).
 *                    Models convert with framesToFloat (src/ops/conv.ts; one native pass,
 *                    either layout) to float32 NCHW in [0, 1].
 *     actions float32 [B,T,A]
 *     labels  int32  [B,T,k] when every episode has labels of width k
 *     latents float32 [B,T,...latentShape] when `latents` is given (then frames are omitted
 *                    unless keepFrames): precomputed VAE latents, one Float32Array per episode.
 */
import { Generator } from '../random/generator';
import { checkInt, checkNumber } from '../errors';
import { Episode } from './episode';

export interface SequenceDatasetOptions {
  seqLen: number;
  /** Step between window starts (default seqLen: non-overlapping windows). */
  stride?: number;
  batchSize: number;
  seed?: number;
  /** Share of episodes held out for validation (default 0.1). */
  valFraction?: number;
  /** 'chw' (= 'NCHW', default) or 'hwc' (= 'NHWC': no transpose; pass to framesToFloat(t, 'NHWC')). */
  layout?: 'chw' | 'hwc' | 'NCHW' | 'NHWC';
  dropLast?: boolean;
  /** Per-episode latents [length, ...latentShape] replacing the frames. */
  latents?: Float32Array[];
  latentShape?: number[];
  /** Keep frames in batches even when latents are given. */
  keepFrames?: boolean;
}

export interface Window {
  episode: number;
  start: number;
}

export interface SequenceBatch {
  size: number;
  seqLen: number;
  frames?: Uint8Array;
  latents?: Float32Array;
  actions: Float32Array;
  labels?: Int32Array;
  windows: Window[];
}

export class SequenceSplit {
  constructor(
    private readonly ds: SequenceDataset,
    /** Indices of the dataset's episodes in this split. */
    readonly episodeIndices: number[],
    readonly windows: Window[],
  ) {}

  get numBatches(): number {
    const o = this.ds.options;
    return o.dropLast ? Math.floor(this.windows.length / o.batchSize) : Math.ceil(this.windows.length / o.batchSize);
  }

  /** The windows of an epoch in visiting order. */
  order(epoch: number): Window[] {
    const g = new Generator(this.ds.options.seed ?? 0).fork(1 + checkInt('SequenceSplit.order', 'epoch', epoch, 0));
    return g.shuffle(this.windows.slice());
  }

  /** The batches of one epoch. */
  *batches(epoch = 0, shuffle = true): Generator_<SequenceBatch> {
    const order = shuffle ? this.order(epoch) : this.windows;
    const B = this.ds.options.batchSize;
    for (let i = 0; i < this.numBatches; ++i) yield this.ds.assemble(order.slice(i * B, (i + 1) * B));
  }
}

function isChw(layout: SequenceDatasetOptions['layout']): boolean {
  if (layout !== undefined && !['chw', 'hwc', 'NCHW', 'NHWC'].includes(layout))
    throw new TypeError(`SequenceDataset: layout must be 'chw' or 'hwc' (or 'NCHW' / 'NHWC'), got ${String(layout)}`);
  return layout === undefined || layout === 'chw' || layout === 'NCHW';
}

type Generator_<T> = globalThis.Generator<T, void, unknown>;

export class SequenceDataset {
  readonly options: SequenceDatasetOptions;
  readonly train: SequenceSplit;
  readonly val: SequenceSplit;
  readonly height: number;
  readonly width: number;
  /** Channels per pixel of the episodes' frames (3 RGB, 1 gray). */
  readonly channels: number;
  readonly actionDim: number;
  readonly labelDim: number;
  readonly latentSize: number;

  constructor(
    readonly episodes: Episode[],
    options: SequenceDatasetOptions,
  ) {
    const fn = 'SequenceDataset';
    if (!Array.isArray(episodes) || episodes.length === 0) throw new RangeError(`${fn}: episodes must be a non-empty array, got ${Array.isArray(episodes) ? 'an empty array' : typeof episodes}`);
    const T = checkInt(fn, 'seqLen', options.seqLen, 1);
    const stride = checkInt(fn, 'stride', options.stride ?? T, 1);
    checkInt(fn, 'batchSize', options.batchSize, 1);
    const valFraction = checkNumber(fn, 'valFraction', options.valFraction ?? 0.1, 0, 1);
    isChw(options.layout);
    this.options = { ...options, stride, valFraction };
    const e0 = episodes[0];
    this.height = e0.height;
    this.width = e0.width;
    this.channels = e0.channels ?? 3;
    this.actionDim = e0.actionDim;
    this.labelDim = episodes.every((e) => e.labels && e.labelDim === e0.labelDim) ? e0.labelDim : 0;
    episodes.forEach((e, i) => {
      if (e.height !== this.height || e.width !== this.width || e.actionDim !== this.actionDim || (e.channels ?? 3) !== this.channels)
        throw new RangeError(`${fn}: episode ${i} (${e.source ?? 'unnamed'}) is ${e.height}x${e.width}x${e.channels ?? 3} with ${e.actionDim} actions; episode 0 is ${this.height}x${this.width}x${this.channels} with ${this.actionDim}`);
    });
    this.latentSize = 0;
    if (options.latents) {
      if (options.latents.length !== episodes.length) throw new RangeError(`${fn}: latents has ${options.latents.length} entries for ${episodes.length} episodes`);
      this.latentSize = options.latents[0].length / episodes[0].length;
      options.latents.forEach((l, i) => {
        if (l.length !== episodes[i].length * this.latentSize) throw new RangeError(`${fn}: latents[${i}] has ${l.length} values; expected ${episodes[i].length} x ${this.latentSize}`);
      });
    }
    // split by episode
    const idx = episodes.map((_, i) => i);
    new Generator(options.seed ?? 0).shuffle(idx);
    let nVal = Math.ceil(valFraction * episodes.length);
    if (valFraction > 0 && episodes.length >= 2) nVal = Math.max(1, Math.min(episodes.length - 1, nVal));
    else if (episodes.length < 2) nVal = 0;
    const valIdx = idx.slice(0, nVal).sort((a, b) => a - b), trainIdx = idx.slice(nVal).sort((a, b) => a - b);
    const windowsOf = (list: number[]) => {
      const w: Window[] = [];
      for (const e of list) for (let t = 0; t + T <= episodes[e].length; t += stride) w.push({ episode: e, start: t });
      return w;
    };
    this.train = new SequenceSplit(this, trainIdx, windowsOf(trainIdx));
    this.val = new SequenceSplit(this, valIdx, windowsOf(valIdx));
  }

  /** Builds one batch from windows (any windows of this dataset). */
  assemble(windows: Window[]): SequenceBatch {
    const T = this.options.seqLen, B = windows.length, H = this.height, W = this.width, A = this.actionDim, K = this.labelDim;
    const Ch = this.channels;
    const hw = H * W, frameBytes = hw * Ch;
    const wantFrames = !this.options.latents || this.options.keepFrames;
    const frames = wantFrames ? new Uint8Array(B * T * frameBytes) : undefined;
    const latents = this.options.latents ? new Float32Array(B * T * this.latentSize) : undefined;
    const actions = new Float32Array(B * T * A);
    const labels = K > 0 ? new Int32Array(B * T * K) : undefined;
    const chw = isChw(this.options.layout);
    windows.forEach((w, b) => {
      const e = this.episodes[w.episode];
      const base = b * T;
      if (frames) {
        if (!chw) frames.set(e.frames.subarray(w.start * frameBytes, (w.start + T) * frameBytes), base * frameBytes);
        else {
          for (let t = 0; t < T; ++t) {
            const src = (w.start + t) * frameBytes, dst = (base + t) * frameBytes;
            const f = e.frames;
            if (Ch === 1) frames.set(f.subarray(src, src + hw), dst);
            else for (let i = 0, j = src; i < hw; ++i, j += Ch) for (let c = 0; c < Ch; ++c) frames[dst + c * hw + i] = f[j + c];
          }
        }
      }
      if (latents && this.options.latents) latents.set(this.options.latents[w.episode].subarray(w.start * this.latentSize, (w.start + T) * this.latentSize), base * this.latentSize);
      if (A > 0) actions.set(e.actions.subarray(w.start * A, (w.start + T) * A), base * A);
      if (labels && e.labels) labels.set(e.labels.subarray(w.start * K, (w.start + T) * K), base * K);
    });
    return { size: B, seqLen: T, frames, latents, actions, labels, windows };
  }

  /** Shapes of a full batch's arrays, for documentation and checks. */
  shapes(): Record<string, number[]> {
    const B = this.options.batchSize, T = this.options.seqLen;
    const s: Record<string, number[]> = {
      actions: [B, T, this.actionDim],
    };
    if (!this.options.latents || this.options.keepFrames)
      s.frames = isChw(this.options.layout) ? [B, T, this.channels, this.height, this.width] : [B, T, this.height, this.width, this.channels];
    if (this.options.latents) s.latents = [B, T, ...(this.options.latentShape ?? [this.latentSize])];
    if (this.labelDim > 0) s.labels = [B, T, this.labelDim];
    return s;
  }
}
