/**
 * A seeded random generator over the native counter-based Philox stream (cpp/philox.h).
 *
 * Its whole state is `{seed, offset}`: a draw of n numbers consumes stream indices
 * [offset, offset + n), rounded up to whole Philox blocks of 4 so each draw starts on a fresh
 * block. The same seed gives the same numbers on every backend and thread count, and saving
 * the state in a checkpoint lets a resumed run continue the exact stream.
 */
import { native } from '../backend/native';
import { checkInt, checkNumber } from '../errors';

export interface GeneratorState {
  seed: number;
  offset: number;
}

const MAX_SEED = 2 ** 53;

export class Generator {
  seed: number;
  offset: number;

  constructor(seed = 0, offset = 0) {
    this.seed = checkInt('Generator', 'seed', seed, 0, MAX_SEED);
    this.offset = checkInt('Generator', 'offset', offset, 0, MAX_SEED);
  }

  private take(n: number): number {
    const at = this.offset;
    this.offset += Math.ceil(n / 4) * 4;
    if (this.offset > MAX_SEED) this.offset = 0;
    return at;
  }

  /** Fills `out` with N(mean, std^2). */
  fillNormal(out: Float32Array, mean = 0, std = 1): Float32Array {
    native.rngNormal(out, this.seed, this.take(out.length), mean, std);
    return out;
  }

  /** Fills `out` with U[low, high). */
  fillUniform(out: Float32Array, low = 0, high = 1): Float32Array {
    native.rngUniform(out, this.seed, this.take(out.length), low, high);
    return out;
  }

  /** Fills `out` with 1 (probability p) or 0. */
  fillBernoulli(out: Float32Array, p: number): Float32Array {
    checkNumber('Generator.fillBernoulli', 'p', p, 0, 1);
    native.rngBernoulli(out, this.seed, this.take(out.length), p);
    return out;
  }

  /** One uniform number in [0, 1) (consumes one Philox block). */
  uniform(): number {
    const v = new Float32Array(1);
    native.rngUniform(v, this.seed, this.take(1), 0, 1);
    return v[0];
  }

  /** A uniform integer in [0, n). */
  int(n: number): number {
    return Math.min(n - 1, Math.floor(this.uniform() * n));
  }

  /** Fisher-Yates shuffle of `items` in place, driven by this generator. */
  shuffle<T>(items: T[]): T[] {
    const u = new Float32Array(items.length);
    this.fillUniform(u);
    for (let i = items.length - 1; i > 0; --i) {
      const j = Math.min(i, Math.floor(u[i] * (i + 1)));
      const t = items[i];
      items[i] = items[j];
      items[j] = t;
    }
    return items;
  }

  /** A generator on an independent stream derived from this one (e.g. per data worker). */
  fork(salt: number): Generator {
    const mix = (this.seed * 1000003 + salt * 7919 + 0x9e3779b9) % MAX_SEED;
    return new Generator(Math.floor(mix), 0);
  }

  state(): GeneratorState {
    return { seed: this.seed, offset: this.offset };
  }

  setState(s: GeneratorState): void {
    this.seed = checkInt('Generator.setState', 'seed', s.seed, 0, MAX_SEED);
    this.offset = checkInt('Generator.setState', 'offset', s.offset, 0, MAX_SEED);
  }
}

let defaultGenerator = new Generator(0);

/** The generator used when an op is given no seed or generator. */
export function getDefaultGenerator(): Generator {
  return defaultGenerator;
}

/** Re-seeds the default generator (like torch.manual_seed). */
export function manualSeed(seed: number): void {
  defaultGenerator = new Generator(seed);
}
