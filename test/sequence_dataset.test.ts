import { SequenceDataset } from '../src/data/sequence_dataset';
import { Episode } from '../src/data/episode';

function fakeEpisode(id: number, length: number, H = 4, W = 5): Episode {
  const frames = new Uint8Array(length * H * W * 3);
  for (let t = 0; t < length; ++t)
    for (let i = 0; i < H * W; ++i) for (let c = 0; c < 3; ++c) frames[(t * H * W + i) * 3 + c] = (id * 31 + t * 7 + i * 3 + c) % 256;
  const actions = new Float32Array(length * 2).map((_, k) => id * 1000 + k);
  const labels = new Int32Array(length * 3).map((_, k) => id * 100 + Math.floor(k / 3));
  return { length, height: H, width: W, frames, actionDim: 2, actions, labelDim: 3, labels, source: `ep${id}` };
}

describe('SequenceDataset', () => {
  const eps = [7, 12, 5, 20, 9, 16, 3, 11, 14, 8].map((n, i) => fakeEpisode(i, n));
  const opts = { seqLen: 4, stride: 2, batchSize: 3, seed: 7, valFraction: 0.2 };

  test('every window once per epoch; same seed same order; epochs differ', () => {
    const ds = new SequenceDataset(eps, opts);
    const expected = new Set<string>();
    for (const e of ds.train.episodeIndices) for (let t = 0; t + 4 <= eps[e].length; t += 2) expected.add(`${e}:${t}`);
    for (const epoch of [0, 1]) {
      const seen: string[] = [];
      for (const b of ds.train.batches(epoch)) for (const w of b.windows) seen.push(`${w.episode}:${w.start}`);
      expect(seen.length).toBe(expected.size);
      expect(new Set(seen)).toEqual(expected);
    }
    const again = new SequenceDataset(eps, opts);
    expect(again.train.order(3)).toEqual(ds.train.order(3));
    expect(ds.train.order(0)).not.toEqual(ds.train.order(1));
  });

  test('train/validation split by episode', () => {
    const ds = new SequenceDataset(eps, opts);
    expect(ds.val.episodeIndices.length).toBe(2);
    const tr = new Set(ds.train.episodeIndices);
    for (const v of ds.val.episodeIndices) expect(tr.has(v)).toBe(false);
    expect(tr.size + ds.val.episodeIndices.length).toBe(eps.length);
    for (const w of ds.val.windows) expect(ds.val.episodeIndices).toContain(w.episode);
  });

  test('batch contents: CHW frames, actions, labels of the window', () => {
    const ds = new SequenceDataset(eps, opts);
    const b = ds.train.batches(0).next().value!;
    const H = 4, W = 5;
    expect(b.frames!.length).toBe(3 * 4 * 3 * H * W);
    b.windows.forEach((w, bi) => {
      const e = eps[w.episode];
      for (let t = 0; t < 4; ++t) {
        for (const [c, y, x] of [[0, 0, 0], [2, 3, 4], [1, 2, 1]]) {
          const chw = b.frames![(((bi * 4 + t) * 3 + c) * H + y) * W + x];
          expect(chw).toBe(e.frames[((w.start + t) * H * W + y * W + x) * 3 + c]);
        }
        expect(b.actions[(bi * 4 + t) * 2 + 1]).toBe(e.actions[(w.start + t) * 2 + 1]);
        expect(b.labels![(bi * 4 + t) * 3]).toBe(e.labels![(w.start + t) * 3]);
      }
    });
    const hwc = new SequenceDataset(eps, { ...opts, layout: 'hwc' });
    const bh = hwc.assemble(b.windows);
    const e = eps[b.windows[0].episode];
    expect(Array.from(bh.frames!.subarray(0, 60))).toEqual(Array.from(e.frames.subarray(b.windows[0].start * 60, b.windows[0].start * 60 + 60)));
    expect(ds.shapes()).toEqual({ actions: [3, 4, 2], frames: [3, 4, 3, 4, 5], labels: [3, 4, 3] });
  });

  test('latents replace frames', () => {
    const latents = eps.map((e, i) => new Float32Array(e.length * 6).map((_, k) => i + k / 1000));
    const ds = new SequenceDataset(eps, { ...opts, latents, latentShape: [6] });
    const b = ds.train.batches(1).next().value!;
    expect(b.frames).toBeUndefined();
    const w = b.windows[1];
    expect(b.latents![(1 * 4 + 2) * 6 + 5]).toBe(latents[w.episode][(w.start + 2) * 6 + 5]);
    expect(() => new SequenceDataset(eps, { ...opts, latents: latents.slice(1) })).toThrow(/latents has 9 entries/);
  });

  test('bad options throw', () => {
    expect(() => new SequenceDataset([], opts)).toThrow(/SequenceDataset: episodes/);
    expect(() => new SequenceDataset(eps, { ...opts, seqLen: 0 })).toThrow(/seqLen/);
  });
});
