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
 * Frames are uint8 HWC [T,H,W,3] (the Episode layout) throughout.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Tensor, shapeSize } from '../tensor/tensor';
import { tidy } from '../tensor/scope';
import { noGrad } from '../autograd/grad_mode';
import { floatToFrames } from '../ops/conv';
import { ConvVAE } from '../models/conv_vae';
import { LatentPredictor } from '../models/latent_predictor';
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

/** z [N, D] (mu) of uint8 HWC frames [N,H,W,3]. */
export function encodeFrames(vae: ConvVAE, frames: Uint8Array, n: number, batch = 64): Float32Array {
  const [, H, W] = vae.inputShape;
  const D = shapeSize(vae.latentShape);
  const out = new Float32Array(n * D);
  const per = H * W * 3;
  const was = vae.training;
  vae.eval();
  noGrad(() => {
    for (let i = 0; i < n; i += batch) {
      const m = Math.min(batch, n - i);
      tidy(() => out.set(host(vae.encode(new Tensor([m, H, W, 3], 'uint8', frames.subarray(i * per, (i + m) * per))).mu), i * D));
    }
  });
  vae.train(was);
  return out;
}

/** Decodes latents z [N*D] to uint8 HWC frames [N,H,W,3] and float images [N,3,H,W] in [0,1]. */
export function decodeLatents(vae: ConvVAE, z: Float32Array, batch = 64): { frames: Uint8Array; images: Float32Array } {
  const [C, H, W] = vae.inputShape;
  const D = shapeSize(vae.latentShape);
  const n = z.length / D;
  const frames = new Uint8Array(n * H * W * 3);
  const images = new Float32Array(n * C * H * W);
  const was = vae.training;
  vae.eval();
  noGrad(() => {
    for (let i = 0; i < n; i += batch) {
      const m = Math.min(batch, n - i);
      tidy(() => {
        const img = vae.decode(onDevice(new Tensor([m, ...vae.latentShape], 'float32', z.slice(i * D, (i + m) * D)), deviceOfModel(vae)));
        images.set(host(img), i * C * H * W);
        frames.set(floatToFrames(img, 'NHWC').data() as Uint8Array, i * H * W * 3);
      });
    }
  });
  vae.train(was);
  return { frames, images };
}

/** uint8 HWC frames -> float NCHW in [0,1]. */
export function framesToImages(frames: Uint8Array, n: number, H = 64, W = 64): Float32Array {
  const out = new Float32Array(n * 3 * H * W);
  const plane = H * W;
  for (let f = 0; f < n; ++f)
    for (let p = 0; p < plane; ++p)
      for (let c = 0; c < 3; ++c) out[f * 3 * plane + c * plane + p] = frames[(f * plane + p) * 3 + c] / 255;
  return out;
}

export interface OpenLoopInput {
  /** uint8 HWC frames [>= context (+ horizon for the comparison)] of one sequence. */
  frames: Uint8Array;
  /** float [>= context + horizon - 1, A] actions taken at each frame; not needed (and ignored) by a predictor without actions. */
  actions?: Float32Array | null;
  actionDim?: number;
  /** Real frames fed to the model (default 4). */
  context?: number;
  /** Imagined steps (default 16). */
  horizon?: number;
}

export interface OpenLoopResult {
  context: number;
  horizon: number;
  latentSize: number;
  /** Predicted latents [horizon, D] and their decoded frames (uint8 HWC [horizon,H,W,3]). */
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

export function openLoopRollout(predictor: LatentPredictor, vae: ConvVAE, input: OpenLoopInput): OpenLoopResult {
  const fn = 'openLoopRollout';
  const C = checkInt(fn, 'context', input.context ?? 4, 1);
  const Hz = checkInt(fn, 'horizon', input.horizon ?? 16, 1);
  const A = input.actionDim ?? predictor.actionSize;
  const per = vae.inputShape[1] * vae.inputShape[2] * 3;
  const nFrames = Math.floor(input.frames.length / per);
  if (nFrames < C) throw rangeError(fn, `frames hold ${nFrames} frames, fewer than context ${C}`);
  if (predictor.useActions && !(input.actions instanceof Float32Array))
    throw typeError(fn, 'input.actions', `a Float32Array of [context + horizon - 1, ${A}] actions (the predictor uses actions)`, input.actions);
  if (predictor.useActions && input.actions!.length < (C + Hz - 1) * A)
    throw rangeError(fn, `actions hold ${Math.floor(input.actions!.length / A)} steps, need context + horizon - 1 = ${C + Hz - 1}`);
  const D = predictor.latentSize;
  const haveTruth = nFrames >= C + Hz;
  const enc = encodeFrames(vae, input.frames, haveTruth ? C + Hz : C);
  const pred = noGrad(() =>
    tidy(() => {
      const dv = deviceOfModel(predictor);
      const z = onDevice(new Tensor([1, C, ...predictor.latentShape], 'float32', enc.slice(0, C * D)), dv);
      const a = predictor.useActions ? onDevice(new Tensor([1, C + Hz - 1, A], 'float32', input.actions!.slice(0, (C + Hz - 1) * A)), dv) : null;
      predictor.eval();
      const out = host(predictor.rollout(z, a, Hz)).slice();
      return out;
    }),
  );
  const dec = decodeLatents(vae, pred);
  const res: OpenLoopResult = {
    context: C,
    horizon: Hz,
    latentSize: D,
    predLatents: pred,
    predFrames: dec.frames,
    predImages: dec.images,
    lastContextLatent: enc.slice((C - 1) * D, C * D),
  };
  if (haveTruth) {
    res.trueLatents = enc.slice(C * D, (C + Hz) * D);
    const r = decodeLatents(vae, res.trueLatents);
    res.reconFrames = r.frames;
    res.reconImages = r.images;
    res.realFrames = input.frames.slice(C * per, (C + Hz) * per);
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

export function closedLoopRollout(predictor: LatentPredictor, vae: ConvVAE, opts: ClosedLoopOptions = {}): ClosedLoopResult {
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

/** Splits uint8 HWC frames [n,H,W,3] into per-frame arrays. */
export function splitFrames(frames: Uint8Array, n: number, H = 64, W = 64): Uint8Array[] {
  const per = H * W * 3;
  return Array.from({ length: n }, (_, i) => frames.subarray(i * per, (i + 1) * per));
}

/** Writes a PNG filmstrip: one row per entry of `rows` (uint8 HWC [n,H,W,3] each), frames scaled by `scale`. */
export function saveFilmstrip(file: string, rows: Uint8Array[], opts: { frames: number; height?: number; width?: number; scale?: number } ): void {
  const H = opts.height ?? 64, W = opts.width ?? 64;
  const img = contactSheet(rows.map((r) => splitFrames(r, Math.min(opts.frames, r.length / (H * W * 3)), H, W)), H, W, 2, opts.scale ?? 1);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomic(file, encodePNG(img));
}
