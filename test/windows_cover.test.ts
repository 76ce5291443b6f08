/** Issue 18, item 4: trainPredictor's windows cover every frame (a final window aligned to the end). */
import { windows } from '../src/train/data';
import { createVAE } from '../src/train/train_vae';
import { createPredictor, trainPredictor } from '../src/train/train_predictor';
import type { Episode } from '../src/data/episode';

const seqs = (n: number, T: number): Episode[] =>
  Array.from({ length: n }, (_, i) => {
    const frames = new Uint8Array(T * 64 * 64 * 3);
    for (let k = 0; k < frames.length; k += 97) frames[k] = (k * 7 + i * 13) & 255;
    return { length: T, height: 64, width: 64, frames, actionDim: 0, actions: new Float32Array(0), labelDim: 0 };
  });

test('windows: 20 frames, len 16, stride 8 -> starts 0 and 4 (frames 16-19 covered); exact fits add nothing', () => {
  expect(windows([{ length: 20 }], 16, 8)).toEqual([[0, 0], [0, 4]]);
  expect(windows([{ length: 20 }], 16, 8, false)).toEqual([[0, 0]]); // the old behaviour
  expect(windows([{ length: 24 }], 16, 8)).toEqual([[0, 0], [0, 8]]);
  expect(windows([{ length: 16 }, { length: 10 }, { length: 21 }], 16, 16)).toEqual([[0, 0], [2, 0], [2, 5]]);
  // every frame of every episode long enough is inside some window
  for (const [L, len, stride] of [[20, 16, 8], [37, 5, 3], [100, 16, 7], [9, 4, 4]]) {
    const seen = new Set<number>();
    for (const [, t0] of windows([{ length: L }], len, stride)) for (let t = t0; t < t0 + len; ++t) seen.add(t);
    expect(seen.size).toBe(L);
  }
});

test('trainPredictor on 20-frame sequences, seqLen 16, stride 8: two windows per sequence, the second ending at frame 19', async () => {
  const data = seqs(4, 20);
  const vae = createVAE({ encoderChannels: [4, 8, 8, 16], latentShape: [4, 4, 4], seed: 2 });
  const p = createPredictor(vae, { hiddenSize: 8, data });
  let perEpoch = 0;
  const r = await trainPredictor(p, vae, data, {
    epochs: 1, batchSize: 1, seqLen: 16, windowStride: 8, validationSplit: 0, seed: 1,
    callbacks: { onTrainBegin: (i) => { perEpoch = i.batchesPerEpoch; } },
  });
  expect(perEpoch).toBe(8); // 4 sequences x (frames 0-15, frames 4-19)
  expect(r.step).toBe(8);
});
