/**
 * DrivingSim: worldkit's embedded driving environment (native renderer in cpp/driving_sim.cpp).
 *
 *   const sim = new DrivingSim(7);
 *   const { frame, reward, done, labels } = sim.step([0.2, 0.5, 0]);   // steer, gas, brake
 *   const eps = generateEpisodes({ episodes: 8, steps: 200, seed: 1 }); // cached on disk
 *
 * A two-lane road with smooth random curves, red/white curbs, grass, solid edge lines and a
 * dashed centre line, seen by a chase camera above and behind a red car; frames are 64x64 RGB
 * uint8 HWC. Actions: steer in [-1, 1] (positive turns right), gas and brake in [0, 1]; time
 * step 0.1 s. Reward: 0.1 per metre of progress along the road while on it, a penalty off it.
 * Done: more than 7 m beyond the road edge, or facing backwards.
 * Labels per frame: [lane (0 left, 1 right, 2 off road), curve ahead (0 left, 1 straight,
 * 2 right; mean curvature 6..30 m ahead, the stretch the camera shows, beyond 1/150 m^-1), speed bucket (0 <6 m/s, 1 <12,
 * 2 faster)]. Everything is a pure function of the seed.
 */
import * as fs from 'fs';
import * as path from 'path';
import { native } from '../backend/native';
import { checkInt, checkNumber, MAX_ELEMENTS, typeError } from '../errors';
import { Episode, LabelHead } from './episode';
import { defaultCacheDir, readEpisodes, writeEpisodes } from './episode_cache';

export const SIM_HEIGHT = 64;
export const SIM_WIDTH = 64;
export const SIM_FRAME_BYTES = SIM_HEIGHT * SIM_WIDTH * 3;
export const SIM_ACTION_DIM = 3;
export const SIM_LABEL_DIM = 3;
export const SIM_STATE_DIM = 8;
export const LANE_NAMES = ['left lane', 'right lane', 'off road'] as const;
export const CURVE_NAMES = ['left', 'straight', 'right'] as const;
export const SPEED_NAMES = ['slow', 'medium', 'fast'] as const;
/** The most frame bytes generateEpisodes makes in one call (16 GiB). */
const MAX_DATASET_BYTES = 2 ** 34;
/** The label columns of simulator frames, in order. */
export const SIM_LABEL_HEADS: LabelHead[] = [
  // a mirrored frame shows the car in the other lane on a road bending the other way, as fast
  { name: 'lane', classes: [...LANE_NAMES], mirror: [1, 0, 2] },
  { name: 'curve', classes: [...CURVE_NAMES], mirror: [2, 1, 0] },
  { name: 'speed', classes: [...SPEED_NAMES], mirror: [0, 1, 2] },
];

/** The car and road state after a step (metres, radians, m/s). */
export interface SimState {
  x: number;
  y: number;
  heading: number;
  speed: number;
  /** Arc length along the road centerline. */
  s: number;
  /** Lateral offset from the centerline, positive to the right. */
  offset: number;
  /** Car heading minus road heading (wrapped to [-pi, pi]). */
  headingError: number;
  /** Mean road curvature 6..30 m ahead (1/m, positive bends left). */
  curvatureAhead: number;
}

export interface StepResult {
  frame: Uint8Array;
  reward: number;
  done: boolean;
  /** [lane, curve, speedBucket]. */
  labels: Int32Array;
}

/** The scripted driver of generateEpisodes: lane keeping with noise, lane changes and mistakes. */
export interface DriverOptions {
  /** Std of the correlated steering noise (default 0.15). */
  steerNoise?: number;
  /** Per-step probability of starting a burst of 2-9 random actions (steer within +-0.7) (default 0.02). */
  mistakeRate?: number;
  /** Per-step probability of switching the target lane (default 0.01). */
  laneChangeRate?: number;
  /** The cruise speed is drawn at the start of an episode from one of three bands inside the speed
   * classes (2.5-4.5, 7.5-10.5, 13.5-18 m/s), clamped to [minSpeed, maxSpeed] (default 0..30)... */
  minSpeed?: number;
  maxSpeed?: number;
  /** ...and again with this per-step probability (default 0.02), so speed labels change within episodes. */
  speedChangeRate?: number;
}

function driverParams(fn: string, o: DriverOptions = {}): Float32Array {
  return new Float32Array([
    checkNumber(fn, 'steerNoise', o.steerNoise ?? 0.15, 0, 10),
    checkNumber(fn, 'mistakeRate', o.mistakeRate ?? 0.02, 0, 1),
    checkNumber(fn, 'laneChangeRate', o.laneChangeRate ?? 0.01, 0, 1),
    checkNumber(fn, 'minSpeed', o.minSpeed ?? 0, 0, 30),
    checkNumber(fn, 'maxSpeed', o.maxSpeed ?? 30, o.minSpeed ?? 0, 30),
    checkNumber(fn, 'speedChangeRate', o.speedChangeRate ?? 0.02, 0, 1),
  ]);
}

function toState(a: Float32Array, off = 0): SimState {
  return {
    x: a[off],
    y: a[off + 1],
    heading: a[off + 2],
    speed: a[off + 3],
    s: a[off + 4],
    offset: a[off + 5],
    headingError: a[off + 6],
    curvatureAhead: a[off + 7],
  };
}

/** A batch of steps: frames [n,64,64,3], rewards [n], dones [n], labels [n,3], states [n,8]. */
export interface StepBatch {
  steps: number;
  frames: Uint8Array;
  actions: Float32Array;
  rewards: Float32Array;
  dones: Uint8Array;
  labels: Int32Array;
  states: Float32Array;
}

export class DrivingSim {
  private readonly handle: { [k: string]: (...a: unknown[]) => unknown };
  private seedValue: number;

  constructor(seed = 0) {
    this.seedValue = checkInt('DrivingSim', 'seed', seed, 0, 2 ** 53);
    this.handle = new (native.DrivingSimNative as unknown as new (s: number) => DrivingSim['handle'])(this.seedValue);
  }

  get seed(): number {
    return this.seedValue;
  }

  /** Restarts on the road of `seed` (default: the current seed); returns the first frame. */
  reset(seed = this.seedValue): Uint8Array {
    this.seedValue = checkInt('DrivingSim.reset', 'seed', seed, 0, 2 ** 53);
    this.handle.reset(this.seedValue);
    return this.render();
  }

  /** The current view, 64x64x3 uint8 HWC. */
  render(out: Uint8Array = new Uint8Array(SIM_FRAME_BYTES)): Uint8Array {
    this.handle.render(out);
    return out;
  }

  state(): SimState {
    const s = new Float32Array(SIM_STATE_DIM);
    this.handle.state(s);
    return toState(s);
  }

  labels(): Int32Array {
    const l = new Int32Array(SIM_LABEL_DIM);
    this.handle.labels(l);
    return l;
  }

  /** One step with [steer, gas, brake]. After done, further steps return done again and the same frame. */
  step(action: ArrayLike<number>): StepResult {
    if (!action || typeof action.length !== 'number' || action.length !== 3)
      throw typeError('DrivingSim.step', 'action', '[steer, gas, brake]', action);
    const b = this.stepMany(Float32Array.from(action as ArrayLike<number>));
    if (b.steps === 0) return { frame: this.render(), reward: 0, done: true, labels: this.labels() };
    return { frame: b.frames, reward: b.rewards[0], done: b.dones[0] === 1, labels: b.labels };
  }

  /** Runs up to actions.length/3 steps in one native call, stopping after the step that ends the episode. */
  stepMany(actions: Float32Array): StepBatch {
    if (!(actions instanceof Float32Array) || actions.length % 3 !== 0)
      throw typeError('DrivingSim.stepMany', 'actions', 'a Float32Array of [steer, gas, brake] triples', actions);
    const n = actions.length / 3;
    if (n > MAX_BATCH_STEPS) throw new RangeError(`DrivingSim.stepMany: actions must hold at most ${MAX_BATCH_STEPS} steps (their frames fill one array), got ${n}`);
    const b = allocBatch(n);
    const steps = this.handle.step(actions, n, b.frames, b.rewards, b.dones, b.labels, b.states) as number;
    b.actions.set(actions);
    return trimBatch(b, steps);
  }

  /** Runs up to n steps of the scripted driver (see DriverOptions) in one native call. */
  drive(n: number, options: DriverOptions = {}): StepBatch {
    checkInt('DrivingSim.drive', 'n', n, 0, MAX_BATCH_STEPS);
    const b = allocBatch(n);
    const steps = this.handle.drive(n, driverParams('DrivingSim.drive', options), b.frames, b.actions, b.rewards, b.dones, b.labels, b.states) as number;
    return trimBatch(b, steps);
  }

  /** The states of a batch as objects. */
  static states(batch: StepBatch): SimState[] {
    const out: SimState[] = [];
    for (let t = 0; t < batch.steps; ++t) out.push(toState(batch.states, t * SIM_STATE_DIM));
    return out;
  }
}

/** Steps whose frames fit one Uint8Array (MAX_ELEMENTS bytes): the most one drive/stepMany call returns. */
const MAX_BATCH_STEPS = Math.floor(MAX_ELEMENTS / SIM_FRAME_BYTES);

function allocBatch(n: number): StepBatch {
  return {
    steps: n,
    frames: new Uint8Array(n * SIM_FRAME_BYTES),
    actions: new Float32Array(n * 3),
    rewards: new Float32Array(n),
    dones: new Uint8Array(n),
    labels: new Int32Array(n * SIM_LABEL_DIM),
    states: new Float32Array(n * SIM_STATE_DIM),
  };
}

function trimBatch(b: StepBatch, steps: number): StepBatch {
  if (steps === b.steps) return b;
  return {
    steps,
    frames: b.frames.slice(0, steps * SIM_FRAME_BYTES),
    actions: b.actions.slice(0, steps * 3),
    rewards: b.rewards.slice(0, steps),
    dones: b.dones.slice(0, steps),
    labels: b.labels.slice(0, steps * SIM_LABEL_DIM),
    states: b.states.slice(0, steps * SIM_STATE_DIM),
  };
}

export interface GenerateOptions extends DriverOptions {
  episodes: number;
  /** Steps per episode (an episode that ends early is shorter). */
  steps: number;
  seed?: number;
  /** Cache folder (default $WORLDKIT_CACHE or ~/.cache/worldkit); false disables the cache. */
  cacheDir?: string | false;
  /** Receives the note when a cache file is refused and regenerated (default: console.warn). */
  onNote?: (message: string) => void;
}

// 2: cruise speed redrawn within episodes (speedChangeRate) from bands inside the speed classes,
// bends taken at a medium pace, curve label over 6..30 m; 3: each road segment holds its curvature
// for 24 of its 40 m.
const GENERATOR_VERSION = 3;

/** The cache file generateEpisodes uses for these options. */
export function episodeCachePath(o: GenerateOptions): string {
  const p = driverParams('episodeCachePath', o);
  const key = [`v${GENERATOR_VERSION}`, `e${o.episodes}`, `t${o.steps}`, `seed${o.seed ?? 0}`, ...Array.from(p, (x) => x.toFixed(4))].join('_');
  return path.join(o.cacheDir || defaultCacheDir(), 'driving_sim', `${key}.wkep`);
}

/**
 * Episodes of the scripted driver. Episode e uses the road and driver of seed
 * simEpisodeSeed(seed, e); the set is cached on disk keyed by all options, so a second call
 * with the same options reads the file instead of simulating.
 */
export function generateEpisodes(o: GenerateOptions): Episode[] {
  const fn = 'generateEpisodes';
  const episodes = checkInt(fn, 'episodes', o.episodes, 1, 1 << 20);
  const steps = checkInt(fn, 'steps', o.steps, 1, 1 << 20);
  const seed = checkInt(fn, 'seed', o.seed ?? 0, 0, 2 ** 53);
  // Limits before simulating or allocating: one episode's frames are one Uint8Array, and all of
  // them are held in memory at once.
  if (steps * SIM_FRAME_BYTES > MAX_ELEMENTS)
    throw new RangeError(`${fn}: steps must be at most ${Math.floor(MAX_ELEMENTS / SIM_FRAME_BYTES)} (one episode's frames in one array of at most 2^31 - 1 bytes), got ${steps}`);
  if (episodes * steps * SIM_FRAME_BYTES > MAX_DATASET_BYTES)
    throw new RangeError(`${fn}: episodes x steps must be at most ${Math.floor(MAX_DATASET_BYTES / SIM_FRAME_BYTES)} frames (${MAX_DATASET_BYTES / 2 ** 30} GiB of frames), got ${episodes} x ${steps} = ${episodes * steps}`);
  const params = driverParams(fn, o);
  const file = o.cacheDir === false ? null : episodeCachePath(o);
  if (file && fs.existsSync(file)) {
    // A cache that fails its checks, or holds other episodes than these options make, is never
    // used: it is regenerated (and overwritten) with a note saying why.
    const note = o.onNote ?? ((m: string) => console.warn(`worldkit: ${m}`));
    try {
      const { episodes: eps, meta } = readEpisodes(file);
      const m = (meta ?? {}) as { episodes?: unknown; steps?: unknown; seed?: unknown };
      const wrong =
        m.episodes !== episodes || m.steps !== steps || m.seed !== seed
          ? `was made for ${JSON.stringify({ episodes: m.episodes, steps: m.steps, seed: m.seed })}, not ${JSON.stringify({ episodes, steps, seed })}`
          : eps.length !== episodes
            ? `holds ${eps.length} episodes, expected ${episodes}`
            : eps.find((e) => e.length < 1 || e.length > steps || e.height !== SIM_HEIGHT || e.width !== SIM_WIDTH || e.actionDim !== SIM_ACTION_DIM || e.labelDim !== SIM_LABEL_DIM)
              ? `holds an episode of another size than ${steps} steps of ${SIM_HEIGHT}x${SIM_WIDTH} frames`
              : null;
      if (!wrong) return eps.map((e) => ({ ...e, labelHeads: SIM_LABEL_HEADS }));
      note(`episode cache ${file} ${wrong}; regenerating it`);
    } catch (e) {
      note(`episode cache ${(e as Error).message}; regenerating it`);
    }
  }
  const out: Episode[] = [];
  // Native calls of at most ~256 MB of frames; episodes run in parallel inside a call.
  const chunk = Math.max(1, Math.min(episodes, Math.floor(256e6 / (steps * SIM_FRAME_BYTES))));
  for (let e0 = 0; e0 < episodes; e0 += chunk) {
    const m = Math.min(chunk, episodes - e0);
    const total = m * steps;
    const frames = new Uint8Array(total * SIM_FRAME_BYTES);
    const actions = new Float32Array(total * 3);
    const rewards = new Float32Array(total);
    const dones = new Uint8Array(total);
    const labels = new Int32Array(total * SIM_LABEL_DIM);
    const lengths = new Int32Array(m);
    native.simGenerateEpisodes(seed, e0, m, steps, params, frames, actions, rewards, dones, labels, lengths);
    for (let i = 0; i < m; ++i) {
      const n = lengths[i], k = i * steps;
      out.push({
        length: n,
        height: SIM_HEIGHT,
        width: SIM_WIDTH,
        frames: frames.slice(k * SIM_FRAME_BYTES, (k + n) * SIM_FRAME_BYTES),
        actionDim: SIM_ACTION_DIM,
        actions: actions.slice(k * 3, (k + n) * 3),
        rewards: rewards.slice(k, k + n),
        dones: dones.slice(k, k + n),
        labelDim: SIM_LABEL_DIM,
        labels: labels.slice(k * SIM_LABEL_DIM, (k + n) * SIM_LABEL_DIM),
        labelHeads: SIM_LABEL_HEADS,
        source: `driving_sim seed ${seed} episode ${e0 + i}`,
      });
    }
  }
  if (file) writeEpisodes(file, out, { generator: 'driving_sim', version: GENERATOR_VERSION, episodes, steps, seed });
  return out;
}

/** The seed of episode `episode` of generateEpisodes({seed}): `new DrivingSim(episodeSeed(seed, e))` replays its road. */
export function episodeSeed(seed: number, episode: number): number {
  return native.simEpisodeSeed(seed, episode) as number;
}
