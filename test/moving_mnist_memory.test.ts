/**
 * Issue 18, item 9: Moving MNIST generated as uint8 (no float array), whole or in chunks; gray
 * episodes view the set's bytes. 10,000 sequences (the standard training set size) stay within a
 * stated bound, and generation is deterministic per seed.
 */
import { movingMnist, movingMnistChunks, movingMnistEpisodes } from '../src/data/moving_mnist';

const same = (a: ArrayBufferView, b: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
const gc = (global as { gc?: () => void }).gc;

test('chunks are the set byte for byte; episodes from options equal episodes from the set; deterministic per seed; data is pixels / 255', () => {
  const o = { count: 23, seed: 9, frames: 12 };
  const set = movingMnist(o);
  const parts = [...movingMnistChunks(o, 5)];
  expect(parts.map((p) => p.count)).toEqual([5, 5, 5, 5, 3]);
  const cat = (k: 'pixels' | 'positions' | 'velocities' | 'labels') => {
    const bufs = parts.map((p) => Buffer.from(p[k].buffer, p[k].byteOffset, p[k].byteLength));
    return Buffer.concat(bufs);
  };
  for (const k of ['pixels', 'positions', 'velocities', 'labels'] as const) expect(cat(k).equals(Buffer.from(set[k].buffer))).toBe(true);
  expect(same(movingMnist(o).pixels, set.pixels)).toBe(true);
  expect(same(movingMnist({ ...o, seed: 10 }).pixels, set.pixels)).toBe(false);
  const a = movingMnistEpisodes(o), b = movingMnistEpisodes(set);
  expect(a.length).toBe(23);
  a.forEach((e, i) => {
    expect(e.channels).toBe(1);
    expect(e.frames.length).toBe(12 * 64 * 64);
    expect(same(e.frames, b[i].frames)).toBe(true);
    expect(e.labels).toEqual(b[i].labels);
    expect(e.source).toBe(`moving_mnist ${i}`);
  });
  // gray episodes are views of the set (no copy); channels 3 replicates for RGB models
  expect(b[1].frames.buffer).toBe(set.pixels.buffer);
  const rgb = movingMnistEpisodes(set, { channels: 3 });
  expect(rgb[2].channels).toBe(3);
  let rgbOk = true;
  for (let i = 0; i < 64 * 64 * 12; ++i) rgbOk &&= rgb[2].frames[3 * i] === b[2].frames[i] && rgb[2].frames[3 * i + 1] === b[2].frames[i] && rgb[2].frames[3 * i + 2] === b[2].frames[i];
  expect(rgbOk).toBe(true);
  const d = set.data;
  expect(d.length).toBe(set.pixels.length);
  let bad = -1;
  for (let i = 0; i < d.length && bad < 0; ++i) if (d[i] !== Math.fround(set.pixels[i] / 255)) bad = i;
  expect(bad).toBe(-1);
  expect(set.data).toBe(d); // made once
  expect(() => movingMnistEpisodes(set, { channels: 2 as 1 })).toThrow(/movingMnistEpisodes: options.channels must be 1 or 3, got 2/);
  expect(() => [...movingMnistChunks(o, 0)]).toThrow(/movingMnistChunks: chunk/);
});

test('10,000 sequences as gray episodes hold 20 x 64 x 64 bytes each (819 MB, under 860 MB of typed arrays; was 3.3 GB of floats + 2.5 GB of RGB); streamed in chunks of 200, the live memory stays under 128 MB whatever the count; the same bytes both ways', () => {
  gc?.();
  // streamed: peak typed-array memory while going through 2,000 sequences 200 at a time (the
  // peak depends on the chunk, not the count; 2,000 keeps the test short: first-touching fresh
  // pages dominates the generation time on some machines)
  const base2 = process.memoryUsage().arrayBuffers;
  let peak = 0, n = 0;
  let last: Uint8Array | null = null;
  for (const c of movingMnistChunks({ count: 2000, seed: 1 }, 200)) {
    n += c.count;
    if (n === 2000) last = c.pixels.slice((c.count - 1) * 20 * 4096);
    peak = Math.max(peak, process.memoryUsage().arrayBuffers - base2);
  }
  expect(n).toBe(2000);
  expect(peak).toBeLessThan(128e6); // a chunk is 16 MB; a few may wait for the garbage collector
  gc?.();
  const base = process.memoryUsage();
  const t0 = performance.now();
  const eps = movingMnistEpisodes({ count: 10000, seed: 1 });
  const ms = performance.now() - t0;
  const held = process.memoryUsage().arrayBuffers - base.arrayBuffers;
  expect(eps.length).toBe(10000);
  const bytes = 10000 * 20 * 64 * 64;
  // what the episodes reference, counted buffer by buffer (the process-wide delta below only
  // bounds it from above: garbage of the streaming above may be collected meanwhile, so the
  // delta can read less than what the episodes hold)
  const buffers = new Set<ArrayBufferLike>();
  for (const e of eps) buffers.add(e.frames.buffer);
  let referenced = 0;
  for (const b of buffers) referenced += b.byteLength;
  expect(referenced).toBeGreaterThanOrEqual(bytes);
  expect(referenced).toBeLessThan(860e6);
  expect(held).toBeLessThan(860e6);
  // deterministic: the first sequence is that of a fresh small set, sequence 1999 the stream's last
  expect(same(eps[0].frames, movingMnist({ count: 1, seed: 1 }).pixels)).toBe(true);
  expect(same(eps[1999].frames, last!)).toBe(true);
  console.log(`moving mnist 10k: ${(ms / 1000).toFixed(1)} s, ${(held / 1e6).toFixed(0)} MB held; streamed peak ${(peak / 1e6).toFixed(0)} MB`);
});
