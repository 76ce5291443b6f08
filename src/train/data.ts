/**
 * What the trainers accept as a dataset, and the small helpers they share: a list of Episodes
 * (src/data/episode.ts) or anything holding one (`{ episodes }`), a deterministic
 * train/validation split, frame gathering and fixed-length windows over episodes.
 */
import { rangeError, typeError } from '../errors';
import { Tensor } from '../tensor/tensor';
import { Episode, channelsOf, frameBytesOf } from '../data/episode';

export type EpisodeSource = Episode[] | { episodes: Episode[] };

/**
 * The episodes of a dataset, checked: every array must match the episode's sizes (frames shorter
 * than `length` used to train on zeros past their end), all episodes share frame size and action
 * width, and actions are finite (a NaN action surfaced much later as a NaN loss blamed on the
 * learning rate). One pass over the actions; frames are uint8, so always finite.
 */
export function episodesOf(fn: string, data: unknown): Episode[] {
  const eps = Array.isArray(data) ? data : (data as { episodes?: unknown })?.episodes;
  if (!Array.isArray(eps) || eps.length === 0) throw typeError(fn, 'dataset', 'a non-empty array of episodes (or { episodes })', data);
  const dim = (v: unknown, min: number) => Number.isSafeInteger(v) && (v as number) >= min;
  eps.forEach((e, i) => {
    if (!e || !(e.frames instanceof Uint8Array) || !(e.actions instanceof Float32Array) || !dim(e.length, 0) || !dim(e.height, 1) || !dim(e.width, 1) || !dim(e.actionDim, 0))
      throw typeError(fn, `dataset episode ${i}`, 'an Episode { length, height, width, frames: Uint8Array, actions: Float32Array, actionDim }', e);
    const what = `dataset episode ${i}${e.source ? ` (${e.source})` : ''}`;
    if (e.channels !== undefined && !dim(e.channels, 1)) throw typeError(fn, `dataset episode ${i}.channels`, 'an integer >= 1 (or undefined for 3)', e.channels);
    const C = channelsOf(e);
    const n = frameBytesOf(e);
    if (e.frames.length !== e.length * n)
      throw rangeError(fn, `${what}: frames must have length x height x width x channels = ${e.length}x${e.height}x${e.width}x${C} = ${e.length * n} bytes, got ${e.frames.length}`);
    if (e.actions.length !== e.length * e.actionDim)
      throw rangeError(fn, `${what}: actions must have length x actionDim = ${e.length}x${e.actionDim} = ${e.length * e.actionDim} values, got ${e.actions.length}`);
    const e0 = eps[0] as Episode;
    if (e.height !== e0.height || e.width !== e0.width || e.actionDim !== e0.actionDim || C !== channelsOf(e0))
      throw rangeError(fn, `${what}: frames ${e.height}x${e.width}x${C} with ${e.actionDim} action values, but episode 0 has ${e0.height}x${e0.width}x${channelsOf(e0)} with ${e0.actionDim} (all episodes must agree)`);
    const a = e.actions as Float32Array;
    for (let k = 0; k < a.length; ++k)
      if (!Number.isFinite(a[k])) throw rangeError(fn, `${what}: actions[${Math.floor(k / e.actionDim)}][${k % e.actionDim}] is ${a[k]} (non-finite)`);
  });
  return eps as Episode[];
}

/** A view of frames [from, to) of an episode (no copy of pixel data). */
export function subEpisode(ep: Episode, from: number, to: number): Episode {
  const n = frameBytesOf(ep);
  return {
    ...ep,
    length: to - from,
    frames: ep.frames.subarray(from * n, to * n),
    actions: ep.actions.subarray(from * ep.actionDim, to * ep.actionDim),
    rewards: ep.rewards?.subarray(from, to),
    dones: ep.dones?.subarray(from, to),
    labels: ep.labels?.subarray(from * ep.labelDim, to * ep.labelDim),
  };
}

/**
 * Deterministic split: the last round(n * split) episodes are held out (at least one when split
 * > 0 and there are 2+ episodes); a single episode is cut in time instead.
 */
export function splitEpisodes(eps: Episode[], split: number, minLen = 2): { train: Episode[]; val: Episode[] } {
  if (split <= 0) return { train: eps, val: [] };
  if (eps.length >= 2) {
    const nVal = Math.min(eps.length - 1, Math.max(1, Math.round(eps.length * split)));
    return { train: eps.slice(0, eps.length - nVal), val: eps.slice(eps.length - nVal) };
  }
  const e = eps[0];
  const cut = Math.max(minLen, Math.min(e.length - minLen, Math.round(e.length * (1 - split))));
  if (cut >= e.length || cut < minLen) return { train: eps, val: [] };
  return { train: [subEpisode(e, 0, cut)], val: [subEpisode(e, cut, e.length)] };
}

/** Frame references: (episode, t) pairs over all frames. */
export function frameIndex(eps: Episode[]): [number, number][] {
  const out: [number, number][] = [];
  eps.forEach((e, i) => {
    for (let t = 0; t < e.length; ++t) out.push([i, t]);
  });
  return out;
}

/** uint8 frames [N,H,W,C] (NHWC; C the episodes' channels, default 3) gathered from (episode, t) pairs. */
export function gatherFrames(eps: Episode[], refs: [number, number][]): Tensor {
  const e0 = eps[refs[0][0]];
  const n = frameBytesOf(e0);
  const out = new Uint8Array(refs.length * n);
  refs.forEach(([e, t], k) => out.set(eps[e].frames.subarray(t * n, (t + 1) * n), k * n));
  return new Tensor([refs.length, e0.height, e0.width, channelsOf(e0)], 'uint8', out);
}

/**
 * Start positions (episode, t0) of every window of `len` frames, `stride` apart. With `coverEnd`
 * (default true), when the stride leaves the last frames of an episode outside every window (20
 * frames, len 16, stride 8: windows at 0 and 8 would reach frame 23, so only the one at 0 fits
 * and frames 16-19 were never seen), one more window is added, aligned to the episode's end
 * (t0 = length - len), so every frame of an episode of at least `len` frames is in a window.
 */
export function windows(eps: { length: number }[], len: number, stride: number, coverEnd = true): [number, number][] {
  // A stride below 1 (or fractional) would never advance past t = 0 and grow `out` until the heap runs out.
  if (!Number.isInteger(stride) || stride < 1) throw typeError('windows', 'stride', 'an integer >= 1', stride);
  if (!Number.isInteger(len) || len < 1) throw typeError('windows', 'len', 'an integer >= 1', len);
  const out: [number, number][] = [];
  eps.forEach((e, i) => {
    let last = -1;
    for (let t = 0; t + len <= e.length; t += stride) out.push([i, (last = t)]);
    if (coverEnd && last >= 0 && last + len < e.length) out.push([i, e.length - len]);
  });
  return out;
}

/**
 * The windows a trainer uses, from a split already made: every `stride`-th training window of
 * `len` frames (an error naming fn when the training part has none), and at most maxValidation
 * non-overlapping validation windows, evenly spaced over all of them.
 */
export function trainingWindows(fn: string, train: { length: number }[], val: { length: number }[], len: number, stride: number, maxValidation: number): { refs: [number, number][]; valRefs: [number, number][] } {
  const refs = windows(train, len, stride);
  if (!refs.length) throw rangeError(fn, `no training window of ${len} frames: the training episodes have at most ${Math.max(...train.map((e) => e.length))} frames (lower seqLen)`);
  const all = windows(val, len, len);
  const valRefs = all.length <= maxValidation ? all : Array.from({ length: maxValidation }, (_, i) => all[Math.floor((i * all.length) / maxValidation)]);
  return { refs, valRefs };
}

/**
 * The episodes' frames must be what the VAE takes: HWC [H, W, C] frames for inputShape [C, H, W]
 * (gray Moving MNIST frames, [64,64,1], need createVAE({ inputShape: [1, 64, 64] })).
 */
export function checkFramesFit(fn: string, e0: Episode, inputShape: readonly number[]): void {
  const [C, H, W] = inputShape;
  const c = channelsOf(e0);
  if (c === C && e0.height === H && e0.width === W) return;
  const hint = c !== C ? ` (build the VAE with createVAE({ inputShape: [${c}, ${e0.height}, ${e0.width}] }) for these ${c === 1 ? 'gray ' : ''}frames)` : '';
  throw rangeError(fn, `the episodes' frames are ${e0.height}x${e0.width} with ${c} channel${c === 1 ? '' : 's'} ([${e0.height},${e0.width},${c}]), but the VAE takes inputShape [${C}, ${H}, ${W}]${hint}`);
}
