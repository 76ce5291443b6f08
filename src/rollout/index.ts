/**
 * Rollouts of a trained world model (ConvVAE + LatentPredictor).
 *
 *   openLoopRollout(predictor, vae, { frames, actions, context, horizon })
 *     encodes `context` real frames, then the predictor imagines `horizon` further latents from
 *     its own predictions under the given actions; returns predicted latents and decoded frames,
 *     and (when the real frames of the horizon are given) their true latents and reconstructions.
 *   closedLoopRollout(predictor, vae, { seed, policy, context, horizon })
 *     the world model dreams while a policy acts on the dreamed frames; the real DrivingSim is
 *     stepped with the same actions alongside, for comparison.
 *   filmstrip(rows) / saveFilmstrip(file, rows)
 *     a PNG contact sheet: one row per sequence (real, VAE reconstruction, imagined), one column per step.
 *
 * Frames are uint8 HWC [T,H,W,C] (the Episode layout) throughout, C the VAE's input channels
 * (3 for RGB, 1 for gray frames such as Moving MNIST's).
 */
import * as fs from 'fs';
import * as path from 'path';
import { Tensor, shapeSize } from '../tensor/tensor';
import { tidy } from '../tensor/scope';
import { noGrad } from '../autograd/grad_mode';
import { floatToFrames } from '../ops/conv';
import { ConvVAE } from '../models/conv_vae';
import { LatentSequenceModel } from '../models/latent_sequence_model';
import { DrivingSim, SIM_FRAME_BYTES } from '../data/driving_sim';
import { contactSheet, encodePNG } from '../io/png';
import { writeFileAtomic } from '../io/atomic_file';
import { checkInt, rangeError, typeError } from '../errors';
import type { Device } from '../tensor/memory';
import { moduleDevice } from '../train/device';

// Models on 'cuda' work here too: inputs built from host arrays go to the model's device, and
// outputs are read back to the host (a copy for 'cuda' tensors).
function deviceOfModel(m: { parameters(): Tensor[] }): Device {
  return moduleDevice(m);
}
function onDevice(t: Tensor, device: Device): Tensor {
  return t.to(device);
}
function host(t: Tensor): Float32Array {
  return t.hostF32('rollout');
}

/** z [N, D] (mu) of uint8 HWC frames [N,H,W,C] (C, H, W: the VAE's inputShape). */
export function encodeFrames(vae: ConvVAE, frames: Uint8Array, n: number, batch = 64): Float32Array {
  const [Ch, H, W] = vae.inputShape;
  const D = shapeSize(vae.latentShape);
  const out = new Float32Array(n * D);
  const per = H * W * Ch;
  const was = vae.training;
  vae.eval();
  noGrad(() => {
    for (let i = 0; i < n; i += batch) {
      const m = Math.min(batch, n - i);
      tidy(() => out.set(host(vae.encode(new Tensor([m, H, W, Ch], 'uint8', frames.subarray(i * per, (i + m) * per))).mu), i * D));
    }
  });
  vae.train(was);
  return out;
}

/** Decodes latents z [N*D] to uint8 HWC frames [N,H,W,C] and float images [N,C,H,W] in [0,1]. */
export function decodeLatents(vae: ConvVAE, z: Float32Array, batch = 64): { frames: Uint8Array; images: Float32Array } {
  const [C, H, W] = vae.inputShape;
  const D = shapeSize(vae.latentShape);
  const n = z.length / D;
  const frames = new Uint8Array(n * H * W * C);
  const images = new Float32Array(n * C * H * W);
  const was = vae.training;
  vae.eval();
  noGrad(() => {
    for (let i = 0; i < n; i += batch) {
      const m = Math.min(batch, n - i);
      tidy(() => {
        const img = vae.decode(onDevice(new Tensor([m, ...vae.latentShape], 'float32', z.slice(i * D, (i + m) * D)), deviceOfModel(vae)));
        images.set(host(img), i * C * H * W);
        frames.set(floatToFrames(img, 'NHWC').data() as Uint8Array, i * H * W * C);
      });
    }
  });
  vae.train(was);
  return { frames, images };
}

/** uint8 HWC frames [n,H,W,C] -> float NCHW [n,C,H,W] in [0,1] (C default 3). */
export function framesToImages(frames: Uint8Array, n: number, H = 64, W = 64, C = 3): Float32Array {
  const out = new Float32Array(n * C * H * W);
  const plane = H * W;
  if (C === 1) {
    for (let i = 0; i < n * plane; ++i) out[i] = frames[i] / 255;
    return out;
  }
  for (let f = 0; f < n; ++f)
    for (let p = 0; p < plane; ++p)
      for (let c = 0; c < C; ++c) out[f * C * plane + c * plane + p] = frames[(f * plane + p) * C + c] / 255;
  return out;
}

export interface OpenLoopInput {
  /**
   * uint8 HWC frames [>= context (+ horizon for the comparison), H, W, C] of one sequence, or
   * with `batch` B, B sequences of the same length back to back ([B, T, H, W, C]).
   */
  frames: Uint8Array;
  /** float [>= context + horizon - 1, A] actions taken at each frame ([B, T', A] with `batch`); not needed (and ignored) by a predictor without actions. */
  actions?: Float32Array | null;
  actionDim?: number;
  /** Real frames fed to the model (default 4). */
  context?: number;
  /** Imagined steps (default 16). */
  horizon?: number;
  /**
   * Sequences in `frames` (and `actions`), rolled out together in one batched pass (default 1).
   * Each result array is then [batch, ...] in the same order; the numbers are the ones a
   * rollout of each sequence alone gives.
   */
  batch?: number;
}

export interface OpenLoopResult {
  context: number;
  horizon: number;
  latentSize: number;
  /** Sequences rolled out (input.batch); every array below is [batch, ...] (the batch dimension is 1 by default). */
  batch: number;
  /** Predicted latents [horizon, D] and their decoded frames (uint8 HWC [horizon,H,W,C]) and images (float [horizon,C,H,W] in [0,1]). */
  predLatents: Float32Array;
  predFrames: Uint8Array;
  predImages: Float32Array;
  /** Present when the frames cover the horizon: true latents [horizon, D], their reconstructions, the real frames. */
  trueLatents?: Float32Array;
  reconFrames?: Uint8Array;
  reconImages?: Float32Array;
  realFrames?: Uint8Array;
  /** The last context latent [D] (the copy-last-frame baseline in latent space). */
  lastContextLatent: Float32Array;
}

export function openLoopRollout(predictor: LatentSequenceModel, vae: ConvVAE, input: OpenLoopInput): OpenLoopResult {
  const fn = 'openLoopRollout';
  if (!input || typeof input !== 'object') throw typeError(fn, 'input', 'an object { frames, actions?, context?, horizon?, batch? }', input);
  if (!(input.frames instanceof Uint8Array)) throw typeError(fn, 'input.frames', 'a Uint8Array of uint8 HWC frames', input.frames);
  const C = checkInt(fn, 'context', input.context ?? 4, 1);
  const Hz = checkInt(fn, 'horizon', input.horizon ?? 16, 1);
  const B = checkInt(fn, 'batch', input.batch ?? 1, 1);
  const A = input.actionDim ?? predictor.actionSize;
  const [Ch, H, W] = vae.inputShape;
  const per = H * W * Ch;
  if (input.frames.length % B !== 0 || (B > 1 && (input.frames.length / B) % per !== 0))
    throw rangeError(fn, `input.frames must hold batch = ${B} sequences of whole ${H}x${W}x${Ch} frames (${per} bytes each), got ${input.frames.length} bytes`);
  const seqBytes = input.frames.length / B;
  const nFrames = Math.floor(seqBytes / per);
  if (nFrames < C) throw rangeError(fn, `frames hold ${nFrames} frames${B > 1 ? ' per sequence' : ''}, fewer than context ${C}`);
  const need = C + Hz - 1;
  let actStride = 0;
  if (predictor.useActions) {
    if (!(input.actions instanceof Float32Array))
      throw typeError(fn, 'input.actions', `a Float32Array of [${B > 1 ? 'batch, ' : ''}context + horizon - 1, ${A}] actions (the predictor uses actions)`, input.actions);
    if (input.actions.length % B !== 0) throw rangeError(fn, `input.actions must hold batch = ${B} equal sequences, got ${input.actions.length} values`);
    actStride = input.actions.length / B;
    if (actStride < need * A)
      throw rangeError(fn, `actions hold ${Math.floor(actStride / A)} steps${B > 1 ? ' per sequence' : ''}, need context + horizon - 1 = ${need}`);
  }
  const D = predictor.latentSize;
  const haveTruth = nFrames >= C + Hz;
  const L = haveTruth ? C + Hz : C;
  // The first L frames of each sequence, back to back (no copy for one sequence).
  let src = input.frames;
  if (B > 1) {
    src = new Uint8Array(B * L * per);
    for (let b = 0; b < B; ++b) src.set(input.frames.subarray(b * seqBytes, b * seqBytes + L * per), b * L * per);
  }
  const enc = encodeFrames(vae, src, B * L);
  const ctxZ = new Float32Array(B * C * D);
  for (let b = 0; b < B; ++b) ctxZ.set(enc.subarray(b * L * D, (b * L + C) * D), b * C * D);
  let acts: Float32Array | null = null;
  if (predictor.useActions) {
    acts = new Float32Array(B * need * A);
    for (let b = 0; b < B; ++b) acts.set(input.actions!.subarray(b * actStride, b * actStride + need * A), b * need * A);
  }
  const pred = noGrad(() =>
    tidy(() => {
      const dv = deviceOfModel(predictor);
      const z = onDevice(new Tensor([B, C, ...predictor.latentShape], 'float32', ctxZ), dv);
      const a = acts ? onDevice(new Tensor([B, need, A], 'float32', acts), dv) : null;
      predictor.eval();
      const out = host(predictor.rollout(z, a, Hz)).slice();
      return out;
    }),
  );
  const dec = decodeLatents(vae, pred);
  const lastContextLatent = new Float32Array(B * D);
  for (let b = 0; b < B; ++b) lastContextLatent.set(enc.subarray((b * L + C - 1) * D, (b * L + C) * D), b * D);
  const res: OpenLoopResult = {
    context: C,
    horizon: Hz,
    latentSize: D,
    batch: B,
    predLatents: pred,
    predFrames: dec.frames,
    predImages: dec.images,
    lastContextLatent,
  };
  if (haveTruth) {
    const trueLatents = new Float32Array(B * Hz * D);
    const realFrames = new Uint8Array(B * Hz * per);
    for (let b = 0; b < B; ++b) {
      trueLatents.set(enc.subarray((b * L + C) * D, (b * L + C + Hz) * D), b * Hz * D);
      realFrames.set(src.subarray((b * L + C) * per, (b * L + C + Hz) * per), b * Hz * per);
    }
    res.trueLatents = trueLatents;
    const r = decodeLatents(vae, trueLatents);
    res.reconFrames = r.frames;
    res.reconImages = r.images;
    res.realFrames = realFrames;
  }
  return res;
}

/** A policy maps the frame it sees (uint8 HWC) and the step to an action [steer, gas, brake]. */
export type Policy = (frame: Uint8Array, t: number) => ArrayLike<number>;

/**
 * A simple image-based lane keeper for the driving sim: steers toward the centre of mass of the
 * grey road pixels in the band ahead of the car, at gentle constant gas.
 */
export function laneKeepingPolicy(gas = 0.4): Policy {
  return (frame) => {
    let sx = 0, n = 0;
    for (let y = 30; y < 44; ++y)
      for (let x = 0; x < 64; ++x) {
        const i = (y * 64 + x) * 3;
        const r = frame[i], g = frame[i + 1], b = frame[i + 2];
        const grey = Math.abs(r - g) < 18 && Math.abs(g - b) < 18 && r > 50 && r < 170;
        if (grey) {
          sx += x;
          n++;
        }
      }
    const cx = n ? sx / n : 32;
    const steer = Math.max(-1, Math.min(1, (cx - 32) / 12));
    return [steer, gas, 0];
  };
}

export interface ClosedLoopOptions {
  /** Road seed of the real simulator. */
  seed?: number;
  policy?: Policy;
  /** Real steps (scripted driver) before the dream starts (default 8). */
  context?: number;
  horizon?: number;
}

export interface ClosedLoopResult {
  /** Dreamed frames (what the policy saw) and the real sim's frames under the same actions, uint8 HWC [horizon,64,64,3]. */
  dreamFrames: Uint8Array;
  realFrames: Uint8Array;
  actions: Float32Array;
  /** Steps the real sim ran before it ended the episode (<= horizon). */
  realSteps: number;
  /** The real sim's labels [horizon, 3] (lane, curve, speed) of realFrames (valid for realSteps). */
  realLabels: Int32Array;
  /** The context: the scripted driver's frames [context,64,64,3] and their labels [context, 3]. */
  contextFrames: Uint8Array;
  contextLabels: Int32Array;
}

export function closedLoopRollout(predictor: LatentSequenceModel, vae: ConvVAE, opts: ClosedLoopOptions = {}): ClosedLoopResult {
  const fn = 'closedLoopRollout';
  const C = checkInt(fn, 'context', opts.context ?? 8, 1);
  const Hz = checkInt(fn, 'horizon', opts.horizon ?? 16, 1);
  const policy = opts.policy ?? laneKeepingPolicy();
  const sim = new DrivingSim(opts.seed ?? 0);
  sim.reset();
  const ctx = sim.drive(C);
  if (ctx.steps < C) throw rangeError(fn, `the simulator ended after ${ctx.steps} context steps`);
  const D = predictor.latentSize;
  const A = predictor.actionSize;
  const zs = encodeFrames(vae, ctx.frames, C);
  const dream = new Uint8Array(Hz * SIM_FRAME_BYTES);
  const real = new Uint8Array(Hz * SIM_FRAME_BYTES);
  const actions = new Float32Array(Hz * 3);
  const realLabels = new Int32Array(Hz * 3);
  let realSteps = 0;
  let alive = true;
  predictor.eval();
  // Warm up on the context (its actions are the driver's), then one step at a time.
  let history = zs;
  let acts = Array.from(ctx.actions);
  let lastFrame = ctx.frames.subarray((C - 1) * SIM_FRAME_BYTES, C * SIM_FRAME_BYTES);
  for (let k = 0; k < Hz; ++k) {
    // The action at the last seen frame comes from the policy looking at it.
    const a = Array.from(policy(lastFrame, k)).slice(0, 3);
    acts = acts.slice(0, (C + k - 1) * 3).concat(a);
    actions.set(a, k * 3);
    const T = C + k;
    const next = noGrad(() =>
      tidy(() => {
        const dv = deviceOfModel(predictor);
        const z = onDevice(new Tensor([1, T, ...predictor.latentShape], 'float32', history.slice(0, T * D)), dv);
        const at = predictor.useActions ? onDevice(new Tensor([1, T, A], 'float32', Float32Array.from(acts.slice(0, T * A))), dv) : null;
        return host(predictor.rollout(z, at, 1)).slice();
      }),
    );
    const h2 = new Float32Array((T + 1) * D);
    h2.set(history.subarray(0, T * D));
    h2.set(next, T * D);
    history = h2;
    const frame = decodeLatents(vae, next).frames;
    dream.set(frame, k * SIM_FRAME_BYTES);
    lastFrame = frame;
    if (alive) {
      const r = sim.step(a);
      real.set(r.frame, k * SIM_FRAME_BYTES);
      realLabels.set(r.labels, k * 3);
      realSteps++;
      if (r.done) alive = false;
    }
  }
  return { dreamFrames: dream, realFrames: real, actions, realSteps, realLabels, contextFrames: ctx.frames, contextLabels: ctx.labels };
}

/** Splits uint8 HWC frames [n,H,W,C] into per-frame arrays (C default 3). */
export function splitFrames(frames: Uint8Array, n: number, H = 64, W = 64, C = 3): Uint8Array[] {
  const per = H * W * C;
  return Array.from({ length: n }, (_, i) => frames.subarray(i * per, (i + 1) * per));
}

/**
 * Writes a PNG filmstrip: one row per entry of `rows` (uint8 HWC [n,H,W,C] each), frames scaled
 * by `scale`. `channels` (default 3) is C: 1 writes a gray PNG, 3 an RGB one.
 */
export function saveFilmstrip(file: string, rows: Uint8Array[], opts: { frames: number; height?: number; width?: number; scale?: number; channels?: number }): void {
  const H = opts.height ?? 64, W = opts.width ?? 64, C = opts.channels ?? 3;
  const img = contactSheet(rows.map((r) => splitFrames(r, Math.min(opts.frames, Math.floor(r.length / (H * W * C))), H, W, C)), H, W, 2, opts.scale ?? 1, C);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomic(file, encodePNG(img));
}

export { pixelRollout } from './pixel_rollout';
export type { PixelRolloutInput, PixelRolloutResult } from './pixel_rollout';
