/**
 * Loaders for users' own episodes.
 *
 * - World Models `.npz` episodes: `obs` uint8 [N,H,W,3] + `action` [N,A] (hardmaru's layout) or
 *   `observations` / `actions` / `rewards` / `terminals` (ctallec's), stored or compressed,
 *   actions in float16/float32/float64 or integers. A folder of .npz files is one dataset.
 * - A folder of PNG frames (sorted by name, numbers compared as numbers) with an `actions.csv`
 *   (one row of numbers per frame; a non-numeric first line is a header). A folder whose
 *   sub-folders hold such frames is a dataset of several episodes.
 *
 * Frames of another size are resized to `height` x `width` (area average down, bilinear up) and
 * a note says so. A malformed file gives an error naming the file and what is wrong; loading a
 * folder collects those errors per file and still returns the episodes that loaded.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Episode, resizeFrames } from './episode';
import { NpyArray, parseNpz } from '../io/npy';
import { readZip } from '../io/zip';
import { decodePNG, toRGB } from '../io/png';
import { checkInt } from '../errors';

export interface LoadOptions {
  /** Frame size the model expects (default 64x64). */
  height?: number;
  width?: number;
}

export interface FileError {
  file: string;
  message: string;
}

export interface LoadResult {
  episodes: Episode[];
  /** Files that could not be loaded, each with the reason. */
  errors: FileError[];
  /** Things done on the way (resizing, rescaling) worth telling the user. */
  notes: string[];
}

/** An Error whose message starts with the file name. */
export class DataFileError extends Error {
  constructor(
    public readonly file: string,
    public readonly reason: string,
  ) {
    super(`${file}: ${reason}`);
    this.name = 'DataFileError';
  }
}

/** The frame size asked for, checked before frames are resized into it (a huge size allocated without bound). */
function frameSize(fn: string, o: LoadOptions): [number, number] {
  return [checkInt(fn, 'options.height', o.height ?? 64, 1, 8192), checkInt(fn, 'options.width', o.width ?? 64, 1, 8192)];
}

function pick(arrays: Map<string, NpyArray>, names: string[]): [string, NpyArray] | undefined {
  for (const n of names) {
    const a = arrays.get(n);
    if (a) return [n, a];
  }
  return undefined;
}

/** Index of the first NaN/Inf in `d`, or -1. */
function firstNonFinite(d: ArrayLike<number>): number {
  for (let i = 0; i < d.length; ++i) if (!Number.isFinite(d[i])) return i;
  return -1;
}

/** "[2, 7]"-style position of flat index `i` in an array of `shape`. */
function position(i: number, shape: number[]): string {
  const idx: number[] = [];
  for (let d = shape.length - 1; d >= 0; --d) {
    const n = Math.max(1, shape[d]);
    idx.unshift(i % n);
    i = Math.floor(i / n);
  }
  return `[${idx.join(', ')}]`;
}

/** Refuses NaN/Inf in a float array of a file, naming the array and the position of the first one. */
function checkFinite(file: string, name: string, a: NpyArray): void {
  if (a.dtype !== 'float16' && a.dtype !== 'float32' && a.dtype !== 'float64') return;
  const i = firstNonFinite(a.data);
  if (i >= 0) throw new DataFileError(file, `${name}${position(i, a.shape)} is ${a.data[i]} (non-finite values in ${name}; the first is at flat index ${i})`);
}

function framesToUint8(file: string, name: string, a: NpyArray, notes: string[]): Uint8Array {
  if (a.dtype === 'uint8') return a.data as Uint8Array;
  if (a.dtype === 'float32' || a.dtype === 'float64' || a.dtype === 'float16') {
    // Before the range test: Math.max over a NaN is NaN, which used to pick the [0, 255] scale for [0, 1] data.
    checkFinite(file, name, a);
    let max = 0;
    for (let i = 0; i < a.data.length; ++i) max = Math.max(max, a.data[i]);
    const scale = max <= 1.0001 ? 255 : 1;
    if (max > 255.5) throw new DataFileError(file, `${name} has float values up to ${max}; expected [0, 1] or [0, 255]`);
    notes.push(`${path.basename(file)}: ${name} is ${a.dtype}; converted to uint8${scale === 255 ? ' (scaled from [0, 1])' : ''}`);
    const out = new Uint8Array(a.data.length);
    for (let i = 0; i < out.length; ++i) out[i] = Math.round(Math.min(255, Math.max(0, a.data[i] * scale)));
    return out;
  }
  throw new DataFileError(file, `${name} has dtype ${a.dtype}; expected uint8 frames (or float in [0, 1])`);
}

/** One World Models episode file. Throws DataFileError when it is malformed. */
export function loadNpzEpisode(file: string, options: LoadOptions = {}, notes: string[] = []): Episode {
  const [H, W] = frameSize('loadNpzEpisode', options);
  let arrays: Map<string, NpyArray>;
  try {
    arrays = parseNpz(fs.readFileSync(file), readZip);
  } catch (e) {
    if (e instanceof DataFileError) throw e;
    throw new DataFileError(file, (e as Error).message);
  }
  const obs = pick(arrays, ['obs', 'observations']);
  if (!obs) throw new DataFileError(file, `no frames: expected an array 'obs' or 'observations', found ${[...arrays.keys()].join(', ') || 'none'}`);
  const [oname, o] = obs;
  if (o.shape.length !== 4 || (o.shape[3] !== 3 && o.shape[3] !== 1 && o.shape[1] !== 3))
    throw new DataFileError(file, `${oname} must be [N,H,W,3], got [${o.shape.join(',')}]`);
  let frames = framesToUint8(file, oname, o, notes);
  let [n, h, w, c] = o.shape;
  if (c !== 3 && c !== 1 && o.shape[1] === 3) {
    // CHW frames [N,3,H,W]: transpose to HWC
    [n, c, h, w] = o.shape;
    const out = new Uint8Array(frames.length);
    for (let f = 0; f < n; ++f)
      for (let ch = 0; ch < 3; ++ch)
        for (let i = 0; i < h * w; ++i) out[(f * h * w + i) * 3 + ch] = frames[(f * 3 + ch) * h * w + i];
    frames = out;
    c = 3;
    notes.push(`${path.basename(file)}: ${oname} is channels-first; transposed to HWC`);
  }
  if (c === 1) {
    const out = new Uint8Array(n * h * w * 3);
    for (let i = 0; i < n * h * w; ++i) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = frames[i];
    frames = out;
  }
  const act = pick(arrays, ['action', 'actions']);
  if (!act) throw new DataFileError(file, `no actions: expected an array 'action' or 'actions', found ${[...arrays.keys()].join(', ')}`);
  const [aname, a] = act;
  if (a.dtype === 'bool') throw new DataFileError(file, `${aname} has dtype bool; expected float or integer actions`);
  if (a.shape.length > 2) throw new DataFileError(file, `${aname} must be [N,A] or [N], got [${a.shape.join(',')}]`);
  if (a.shape[0] !== n) throw new DataFileError(file, `${oname} has ${n} frames but ${aname} has ${a.shape[0]} rows`);
  const actionDim = a.shape.length === 2 ? a.shape[1] : 1;
  checkFinite(file, aname, a);
  const actions = Float32Array.from(a.data as ArrayLike<number>);
  // float64 actions beyond float32's range would become Infinity in the conversion.
  const big = firstNonFinite(actions);
  if (big >= 0) throw new DataFileError(file, `${aname}${position(big, a.shape)} is ${a.data[big]}, outside float32's range`);
  let rewards: Float32Array | undefined;
  const r = pick(arrays, ['reward', 'rewards']);
  if (r) {
    if (r[1].data.length !== n) throw new DataFileError(file, `${oname} has ${n} frames but ${r[0]} has ${r[1].data.length} values`);
    checkFinite(file, r[0], r[1]);
    rewards = Float32Array.from(r[1].data as ArrayLike<number>);
  }
  let dones: Uint8Array | undefined;
  const d = pick(arrays, ['terminals', 'done', 'dones']);
  if (d) {
    if (d[1].data.length !== n) throw new DataFileError(file, `${oname} has ${n} frames but ${d[0]} has ${d[1].data.length} values`);
    dones = Uint8Array.from(d[1].data as ArrayLike<number>, (x) => (x ? 1 : 0));
  }
  // Per-frame labels (semantic probe, classification loss): 'labels' [N] or [N,K] of non-negative integers.
  let labels: Int32Array | undefined;
  let labelDim = 0;
  const lab = pick(arrays, ['labels', 'label']);
  if (lab) {
    const [lname, l] = lab;
    if (l.shape.length < 1 || l.shape.length > 2 || l.shape[0] !== n)
      throw new DataFileError(file, `${lname} must be [N] or [N,K] with N = ${n} frames, got [${l.shape.join(',')}]`);
    labelDim = l.shape.length === 2 ? l.shape[1] : 1;
    if (labelDim < 1) throw new DataFileError(file, `${lname} has no label columns ([${l.shape.join(',')}])`);
    labels = new Int32Array(l.data.length);
    for (let i = 0; i < l.data.length; ++i) {
      const v = Number(l.data[i]);
      if (!Number.isInteger(v) || v < 0 || v > 65535)
        throw new DataFileError(file, `${lname}${position(i, l.shape)} is ${l.data[i]}; expected class indices (integers in [0, 65535])`);
      labels[i] = v;
    }
  }
  if (h !== H || w !== W) {
    frames = resizeFrames(frames, n, h, w, H, W);
    notes.push(`${path.basename(file)}: frames resized from ${h}x${w} to ${H}x${W}`);
  }
  return { length: n, height: H, width: W, frames, actionDim, actions, rewards, dones, labelDim, labels, source: file };
}

/** Every .npz in a folder (sorted), or a single .npz file. Malformed files go to `errors`. */
export function loadNpzDataset(target: string, options: LoadOptions = {}): LoadResult {
  frameSize('loadNpzDataset', options); // a bad size is the caller's error, not each file's
  const res: LoadResult = { episodes: [], errors: [], notes: [] };
  if (!fs.existsSync(target)) throw new DataFileError(target, 'no such file or folder');
  const files = fs.statSync(target).isDirectory()
    ? fs.readdirSync(target).filter((f) => f.endsWith('.npz')).sort(naturalCompare).map((f) => path.join(target, f))
    : [target];
  if (files.length === 0) throw new DataFileError(target, 'no .npz files in this folder');
  for (const f of files) {
    try {
      res.episodes.push(loadNpzEpisode(f, options, res.notes));
    } catch (e) {
      res.errors.push({ file: f, message: e instanceof DataFileError ? e.reason : (e as Error).message });
    }
  }
  return res;
}

export function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, undefined, { numeric: true, sensitivity: 'base' });
}

function parseCsv(file: string): number[][] {
  const lines = fs.readFileSync(file, 'utf8').split(/\r?\n/).filter((l) => l.trim().length > 0);
  const rows: number[][] = [];
  lines.forEach((line, i) => {
    const cells = line.split(/[,;\t]/).map((c) => c.trim());
    const nums = cells.map(Number);
    // A header has a cell that is text; an empty cell is not text (Number('') is 0, which used to be read as an action of 0).
    if (i === 0 && cells.some((c, j) => c !== '' && !Number.isFinite(nums[j]))) return;
    const empty = cells.findIndex((c) => c === '');
    if (empty >= 0) throw new DataFileError(file, `line ${i + 1}, column ${empty + 1} is empty: "${line.slice(0, 60)}"`);
    const bad = nums.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) throw new DataFileError(file, `line ${i + 1}, column ${bad + 1} is not a finite number ("${cells[bad].slice(0, 20)}"): "${line.slice(0, 60)}"`);
    rows.push(nums);
  });
  return rows;
}

/** One folder of PNG frames + actions.csv. Throws DataFileError naming the bad file. */
export function loadPngEpisode(dir: string, options: LoadOptions = {}, notes: string[] = []): Episode {
  const [H, W] = frameSize('loadPngEpisode', options);
  const pngs = fs.readdirSync(dir).filter((f) => /\.png$/i.test(f)).sort(naturalCompare);
  if (pngs.length === 0) throw new DataFileError(dir, 'no .png frames in this folder');
  const csv = path.join(dir, 'actions.csv');
  if (!fs.existsSync(csv)) throw new DataFileError(dir, 'no actions.csv next to the frames');
  const rows = parseCsv(csv);
  if (rows.length !== pngs.length) throw new DataFileError(csv, `${rows.length} action rows for ${pngs.length} frames`);
  const A = rows[0].length;
  rows.forEach((r, i) => {
    if (r.length !== A) throw new DataFileError(csv, `row ${i + 1} has ${r.length} values, the first row has ${A}`);
  });
  const frames = new Uint8Array(pngs.length * H * W * 3);
  let resized = false;
  pngs.forEach((name, i) => {
    const file = path.join(dir, name);
    let img;
    try {
      img = decodePNG(fs.readFileSync(file));
    } catch (e) {
      throw new DataFileError(file, (e as Error).message);
    }
    let rgb = toRGB(img);
    if (img.height !== H || img.width !== W) {
      rgb = resizeFrames(rgb, 1, img.height, img.width, H, W);
      resized = true;
    }
    frames.set(rgb, i * H * W * 3);
  });
  if (resized) notes.push(`${dir}: frames resized to ${H}x${W}`);
  const actions = new Float32Array(rows.length * A);
  rows.forEach((r, i) => actions.set(r, i * A));
  return { length: pngs.length, height: H, width: W, frames, actionDim: A, actions, labelDim: 0, source: dir };
}

/** A folder of PNG frames + actions.csv, or a folder of such folders (one episode each). */
export function loadPngDataset(dir: string, options: LoadOptions = {}): LoadResult {
  frameSize('loadPngDataset', options); // a bad size is the caller's error, not each file's
  const res: LoadResult = { episodes: [], errors: [], notes: [] };
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new DataFileError(dir, 'no such folder');
  const subs = fs.readdirSync(dir).filter((f) => fs.statSync(path.join(dir, f)).isDirectory()).sort(naturalCompare);
  const targets = fs.existsSync(path.join(dir, 'actions.csv')) || subs.length === 0 ? [dir] : subs.map((s) => path.join(dir, s));
  for (const t of targets) {
    try {
      res.episodes.push(loadPngEpisode(t, options, res.notes));
    } catch (e) {
      res.errors.push(e instanceof DataFileError ? { file: e.file, message: e.reason } : { file: t, message: (e as Error).message });
    }
  }
  return res;
}
