/**
 * The common currency of the data layer: an Episode is one continuous sequence of frames with
 * the action taken at each frame (and optionally rewards, done flags and per-frame labels).
 *
 * Frames are uint8 HWC ([length, height, width, channels]), the layout simulators, PNG files and
 * .npz episodes store; `channels` is 3 (RGB) unless the episode says otherwise (Moving MNIST: 1,
 * gray). SequenceDataset turns them into CHW batches ([B,T,C,H,W]) for the models.
 */
export interface Episode {
  /** Number of frames. */
  length: number;
  height: number;
  width: number;
  /** uint8 [length, height, width, channels]. */
  frames: Uint8Array;
  /** Channels per pixel (default 3, RGB; 1 for gray frames such as Moving MNIST's). */
  channels?: number;
  /** Width of an action vector (0 when the data has no actions). */
  actionDim: number;
  /** float32 [length, actionDim]: the action taken at (after) each frame. */
  actions: Float32Array;
  rewards?: Float32Array;
  dones?: Uint8Array;
  /** Width of a label vector (0 when unlabeled). */
  labelDim: number;
  /** int32 [length, labelDim]. */
  labels?: Int32Array;
  /** Names of the label columns and their classes (labelHeadsOf() falls back to generic names). */
  labelHeads?: LabelHead[];
  /** Where the episode came from (a file name, 'sim seed 3', ...). */
  source?: string;
}

/** One label column of a dataset (driving simulator: lane, curve, speed; Moving MNIST: digits). */
export interface LabelHead {
  name: string;
  /** Class names, index = label value. */
  classes: string[];
  /** The class of a frame's horizontal mirror image, per class (e.g. left lane -> right lane), when
   * the data is mirror-symmetric; lets the semantic probe train on mirrored frames too. */
  mirror?: number[];
}

/**
 * The label heads of a set of episodes: the first episode's `labelHeads` when given, else one
 * head per label column named 'label i' with classes '0'..max over the data. [] when unlabeled.
 */
export function labelHeadsOf(episodes: Episode[]): LabelHead[] {
  const e0 = episodes[0];
  if (!e0 || !e0.labelDim || !e0.labels) return [];
  if (e0.labelHeads && e0.labelHeads.length === e0.labelDim) return e0.labelHeads.map((h) => ({ name: h.name, classes: [...h.classes], ...(h.mirror ? { mirror: [...h.mirror] } : {}) }));
  const max = new Array<number>(e0.labelDim).fill(1);
  for (const e of episodes) {
    if (!e.labels) continue;
    for (let i = 0; i < e.labels.length; ++i) max[i % e0.labelDim] = Math.max(max[i % e0.labelDim], e.labels[i]);
  }
  return max.map((m, i) => ({ name: `label ${i}`, classes: Array.from({ length: m + 1 }, (_, k) => String(k)) }));
}

/** Channels per pixel of an episode's frames (`channels`, default 3). */
export function channelsOf(ep: { channels?: number }): number {
  return ep.channels ?? 3;
}

/** Bytes of one frame: height x width x channels. */
export function frameBytesOf(ep: { height: number; width: number; channels?: number }): number {
  return ep.height * ep.width * channelsOf(ep);
}

/** A frame of an episode, as a subarray (no copy). */
export function episodeFrame(ep: Episode, t: number): Uint8Array {
  const n = frameBytesOf(ep);
  return ep.frames.subarray(t * n, (t + 1) * n);
}

/** Checks an episode's arrays agree with its sizes; throws naming `what`. */
export function validateEpisode(ep: Episode, what = 'episode'): Episode {
  const n = frameBytesOf(ep);
  if (ep.frames.length !== ep.length * n)
    throw new RangeError(`${what}: frames have ${ep.frames.length} bytes, expected ${ep.length}x${ep.height}x${ep.width}x${channelsOf(ep)}`);
  if (ep.actions.length !== ep.length * ep.actionDim)
    throw new RangeError(`${what}: ${ep.actions.length / Math.max(1, ep.actionDim)} actions for ${ep.length} frames`);
  if (ep.labels && ep.labels.length !== ep.length * ep.labelDim)
    throw new RangeError(`${what}: labels have ${ep.labels.length} values, expected ${ep.length}x${ep.labelDim}`);
  return ep;
}

/** Bilinear (upscaling) or area-average (downscaling) resize of HWC uint8 RGB frames. */
export function resizeFrames(frames: Uint8Array, count: number, h: number, w: number, outH: number, outW: number): Uint8Array {
  if (h === outH && w === outW) return frames;
  const out = new Uint8Array(count * outH * outW * 3);
  const inN = h * w * 3, outN = outH * outW * 3;
  const down = outH <= h && outW <= w;
  const sy = h / outH, sx = w / outW;
  for (let f = 0; f < count; ++f) {
    const src = f * inN, dst = f * outN;
    for (let y = 0; y < outH; ++y) {
      for (let x = 0; x < outW; ++x) {
        for (let c = 0; c < 3; ++c) {
          let v: number;
          if (down) {
            // area average over the source box [y*sy, (y+1)*sy) x [x*sx, (x+1)*sx)
            const y0 = y * sy, y1 = (y + 1) * sy, x0 = x * sx, x1 = (x + 1) * sx;
            let acc = 0, wsum = 0;
            for (let yy = Math.floor(y0); yy < Math.ceil(y1); ++yy) {
              const wy = Math.min(y1, yy + 1) - Math.max(y0, yy);
              for (let xx = Math.floor(x0); xx < Math.ceil(x1); ++xx) {
                const wx = Math.min(x1, xx + 1) - Math.max(x0, xx);
                acc += wy * wx * frames[src + (yy * w + xx) * 3 + c];
                wsum += wy * wx;
              }
            }
            v = acc / wsum;
          } else {
            const fy = Math.min(h - 1, Math.max(0, (y + 0.5) * sy - 0.5));
            const fx = Math.min(w - 1, Math.max(0, (x + 0.5) * sx - 0.5));
            const y0 = Math.floor(fy), x0 = Math.floor(fx);
            const y1 = Math.min(h - 1, y0 + 1), x1 = Math.min(w - 1, x0 + 1);
            const ty = fy - y0, tx = fx - x0;
            const p = (yy: number, xx: number) => frames[src + (yy * w + xx) * 3 + c];
            v = (p(y0, x0) * (1 - tx) + p(y0, x1) * tx) * (1 - ty) + (p(y1, x0) * (1 - tx) + p(y1, x1) * tx) * ty;
          }
          out[dst + (y * outW + x) * 3 + c] = Math.round(v);
        }
      }
    }
  }
  return out;
}
