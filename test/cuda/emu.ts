/**
 * Loads worldkit_emu.node, the test-only addon holding the CUDA kernels (cuda/*.cu) compiled as
 * C++ against the SIMT emulation (cuda/emulation/simt.h), next to the CPU kernels they must
 * match. It sits beside worldkit.node: $WORLDKIT_EMU_ADDON, else the folder of
 * $WORLDKIT_ADDON, else build/Release.
 */
import * as fs from 'fs';
import * as path from 'path';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Fn = (...args: any[]) => any;
export interface EmuAddon {
  setSchedule(mode: 'forward' | 'reverse' | 'random', seed?: number): void;
  setWorkers(n: number): void;
  lastFailure(): string;
  cuda: Record<string, Fn>;
  cpu: Record<string, Fn>;
}

export function loadEmu(): EmuAddon {
  const candidates: string[] = [];
  if (process.env.WORLDKIT_EMU_ADDON) candidates.push(path.resolve(process.env.WORLDKIT_EMU_ADDON));
  if (process.env.WORLDKIT_ADDON) candidates.push(path.join(path.dirname(path.resolve(process.env.WORLDKIT_ADDON)), 'worldkit_emu.node'));
  candidates.push(path.resolve(__dirname, '..', '..', 'build', 'Release', 'worldkit_emu.node'));
  for (const f of candidates) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    if (fs.existsSync(f)) return require(f) as EmuAddon;
  }
  throw new Error(
    `worldkit_emu.node not found (looked in ${candidates.join(', ')}); it is built with the addon unless WORLDKIT_EMULATION=0`,
  );
}

export const SCHEDULES: Array<['forward' | 'reverse' | 'random', number]> = [
  ['forward', 1],
  ['reverse', 1],
  ['random', 7],
];

/** Seeded uniform data in [lo, hi) (a small LCG; test inputs only). */
export function randomArray(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(n);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + ((hi - lo) * s) / 4294967296;
  }
  return out;
}

/** Max relative error |a-b| / max(1, |b|) style check at `tol` with a readable failure. */
export function expectClose(actual: Float32Array, expected: Float32Array | Float64Array, tol: number, what: string): void {
  if (actual.length !== expected.length) throw new Error(`${what}: length ${actual.length} vs ${expected.length}`);
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], e = expected[i];
    const err = Math.abs(a - e);
    if (!(err <= tol * Math.max(Math.abs(e), 1e-3 * scale, 1e-6)) && !(Number.isNaN(a) && Number.isNaN(e))) {
      throw new Error(`${what}: element ${i} is ${a}, expected ${e} (error ${err}, tol ${tol} relative)`);
    }
  }
}

export function expectBitIdentical(actual: Float32Array, expected: Float32Array, what: string): void {
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const e = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  for (let i = 0; i < e.length; i++) {
    if (a[i] !== e[i]) throw new Error(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]} (bits differ)`);
  }
}
