/**
 * Reliability, file side: a seeded fuzzer (test/helpers/fuzz.ts) over every format worldkit reads.
 * For each mutation of a valid file (truncations, byte flips in header and body, length fields
 * +-1) the loader must either refuse it with a clear, typed error naming the file, or return
 * data identical to the original's: never different data without an error.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { generateEpisodes } from '../src/data/driving_sim';
import { readEpisodes, writeEpisodes } from '../src/data/episode_cache';
import { mutate, sameData, Mutation, npyBytes, zipBytes } from './helpers/fuzz';
import { loadNpzEpisode, loadPngEpisode } from '../src/data/loaders';
import { crc32, encodePNG } from '../src/io/png';
import { main } from '../src/cli/main';
import { decodeSafetensors, encodeSafetensors, loadSafetensorsWithMetadata } from '../src/io/safetensors';
import { tensor } from '../src/tensor/creation';
import type { Tensor } from '../src/tensor/tensor';
import { createVAE, trainVAE } from '../src/train/train_vae';
import { loadCheckpoint, latestCheckpoint } from '../src/train/checkpoint';
import { MetricsLog, readMetricsLog } from '../src/train/metrics_log';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wk-fuzz-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/**
 * Runs `load` on every mutation written to `file`; returns the failures (an error that does not
 * name the file, an untyped error, or data that differs from `expected` without an error).
 */
function fuzz(file: string, muts: Mutation[], load: (file: string) => unknown, expected: unknown, errorNames: string[]): string[] {
  const failures: string[] = [];
  for (const m of muts) {
    fs.writeFileSync(file, m.bytes);
    let got: unknown;
    try {
      got = load(file);
    } catch (e) {
      const err = e as Error;
      if (!errorNames.includes(err.name)) failures.push(`${m.name}: ${err.name} (expected ${errorNames.join('/')}): ${err.message}`);
      else if (!err.message.includes(file)) failures.push(`${m.name}: the error does not name the file: ${err.message}`);
      continue;
    }
    if (!sameData(got, expected)) failures.push(`${m.name}: loaded different data without an error`);
  }
  return failures;
}

describe('episode cache', () => {
  const eps = generateEpisodes({ episodes: 2, steps: 6, seed: 3, cacheDir: false });
  const file = path.join(tmp, 'cache.wkep');
  writeEpisodes(file, eps, { generator: 'test' });
  const orig = fs.readFileSync(file);
  const headerEnd = 44 + orig.readUInt32LE(8);
  const plain = (r: { episodes: unknown[] }) => r.episodes.map((e) => ({ ...(e as object), labelHeads: undefined, source: undefined }));

  test('every mutation is refused by name or reads back identical', () => {
    const expected = plain(readEpisodes(file));
    expect(sameData(expected, plain({ episodes: eps }))).toBe(true);
    const muts = mutate(orig, { seed: 15, headerEnd, flips: 12, lengthFields: [{ offset: 8, size: 4, name: 'header length' }] });
    expect(fuzz(path.join(tmp, 'mut.wkep'), muts, (f) => plain(readEpisodes(f)), expected, ['EpisodeFileError'])).toEqual([]);
  });

  test('generateEpisodes regenerates a corrupt, edited or emptied cache with a note, never uses it', () => {
    const dir = path.join(tmp, 'gen');
    const opts = { episodes: 2, steps: 6, seed: 3, cacheDir: dir };
    const notes: string[] = [];
    const fresh = generateEpisodes({ ...opts, onNote: (m) => notes.push(m) });
    expect(notes).toEqual([]);
    const { episodeCachePath } = require('../src/data/driving_sim');
    const cache = episodeCachePath(opts);
    const good = fs.readFileSync(cache);
    // A flipped pixel, a header edited to say length 3, a valid file of other options' episodes,
    // an emptied episode list written by a valid writer, and the old format without a checksum.
    const flipped = Buffer.from(good);
    flipped[good.length - 100] ^= 0xff;
    const short = eps.map((e) => ({ ...e, length: 3, frames: e.frames.subarray(0, 3 * 64 * 64 * 3), actions: e.actions.subarray(0, 9), rewards: e.rewards!.subarray(0, 3), dones: e.dones!.subarray(0, 3), labels: e.labels!.subarray(0, 3 * e.labelDim) }));
    for (const [what, write] of [
      ['flipped byte', () => fs.writeFileSync(cache, flipped)],
      ['header edited to length 3', () => fs.writeFileSync(cache, Buffer.from(good.toString('latin1').replace('"length":6', '"length":3'), 'latin1'))],
      ['other steps in meta', () => writeEpisodes(cache, short, { generator: 'driving_sim', version: 1, episodes: 2, steps: 3, seed: 3 })],
      ['emptied index', () => writeEpisodes(cache, [], { generator: 'driving_sim', version: 1, episodes: 2, steps: 6, seed: 3 })],
      ['version 1 file', () => fs.writeFileSync(cache, Buffer.concat([Buffer.from('WKEP'), Buffer.from([1, 0, 0, 0]), good.subarray(8, 12), good.subarray(44)]))],
    ] as const) {
      write();
      notes.length = 0;
      const again = generateEpisodes({ ...opts, onNote: (m) => notes.push(m) });
      expect([what, sameData(plain({ episodes: again }), plain({ episodes: fresh }))]).toEqual([what, true]);
      expect(notes.length).toBe(1);
      expect(notes[0]).toContain(cache);
      expect(notes[0]).toMatch(/regenerating/);
      // The regenerated file is valid again and is used silently.
      notes.length = 0;
      generateEpisodes({ ...opts, onNote: (m) => notes.push(m) });
      expect(notes).toEqual([]);
    }
  });
});

/** Tensors as plain values (dtype, shape, bytes) so loads compare by content. */
function plainTensors(ts: Record<string, Tensor>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(ts)) out[`#${k}`] = { dtype: ts[k].dtype, shape: ts[k].shape.slice(), data: ts[k].toFloat32Array() };
  return out;
}

describe('safetensors', () => {
  const file = path.join(tmp, 'x.safetensors');
  const src = { w: tensor([[1, 2, 3], [4, 5, 6]]), b: tensor([0.5, -0.25]), i: tensor(new Int32Array([7, -8, 9])), e: tensor([], [0]) };
  const orig = Buffer.from(encodeSafetensors(src, { note: 'x' }));
  fs.writeFileSync(file, orig);
  const headerEnd = 8 + Number(orig.readBigUInt64LE(0));
  const load = (f: string) => {
    const r = loadSafetensorsWithMetadata(f);
    // The metadata the writer gave ('note'): a flip that renames the checksum key turns the file
    // into one without a checksum (as PyTorch writes them) whose tensors and note are unchanged.
    return { ...plainTensors(r.tensors), note: r.metadata.note };
  };

  test('every mutation is refused by name or loads identical tensors', () => {
    const expected = load(file);
    const muts = mutate(orig, { seed: 7, headerEnd, flips: 16, lengthFields: [{ offset: 0, size: 8, name: 'header length' }] });
    expect(fuzz(path.join(tmp, 'mut.safetensors'), muts, load, expected, ['RangeError'])).toEqual([]);
  });

  test('a header length off by one is refused (the values would shift by a byte), as the reference implementation does', () => {
    const one = Buffer.from(encodeSafetensors({ x: tensor([1, 2, 3, 4]) }));
    const n = Number(one.readBigUInt64LE(0));
    for (const d of [-1, 1]) {
      const b = Buffer.from(one);
      b.writeBigUInt64LE(BigInt(n + d), 0);
      // JSON.parse accepts the header either way (padding spaces / a trailing byte): only the layout check catches it.
      expect(() => decodeSafetensors(b, 'shifted.safetensors')).toThrow(/shifted.safetensors: .*(gap|cover|JSON)/);
    }
  });

  test('offsets must tile the data: gaps and trailing bytes are refused', () => {
    const enc = (header: object, data: number) => {
      const h = Buffer.from(JSON.stringify(header));
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(h.length));
      return Buffer.concat([len, h, Buffer.alloc(data)]);
    };
    expect(() => decodeSafetensors(enc({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8), 'gap.st')).toThrow(/gap.st: tensor 'a' starts at 4 .*gap/);
    expect(() => decodeSafetensors(enc({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, 8), 'tail.st')).toThrow(/tail.st: the tensors cover 4 bytes .* holds 8/);
    expect(() => decodeSafetensors(enc({ a: { dtype: 'toString', shape: [1], data_offsets: [0, 4] } }, 4), 'proto.st')).toThrow(/unsupported dtype "toString"/);
  });

  test("tensors named '__proto__' and 'constructor' survive a round trip", () => {
    const names: Record<string, Tensor> = Object.create(null);
    names['__proto__'] = tensor([1, 2]);
    names['constructor'] = tensor([3]);
    names['w'] = tensor([4]);
    const back = decodeSafetensors(encodeSafetensors(names), 'names.st').tensors;
    expect(Object.keys(back).sort()).toEqual(['__proto__', 'constructor', 'w']);
    expect(Array.from(back['__proto__'].toFloat32Array())).toEqual([1, 2]);
    expect(Array.from(back['constructor'].toFloat32Array())).toEqual([3]);
  });
});

describe('checkpoints', () => {
  const dir = path.join(tmp, 'ck');
  let ckDir = '';
  beforeAll(async () => {
    const eps = generateEpisodes({ episodes: 2, steps: 8, seed: 3, cacheDir: false });
    const vae = createVAE({ encoderChannels: [2, 2, 2, 2], latentShape: [2, 4, 4], seed: 1 });
    await trainVAE(vae, eps, { epochs: 1, batchSize: 4, maxBatchesPerEpoch: 2, checkpointDir: dir, metricsFile: null });
    ckDir = latestCheckpoint(dir)!;
  });
  const load = () => {
    const ck = loadCheckpoint(dir);
    try {
      const { weights, optimizer, moduleWeights, dispose, ...rest } = ck;
      void moduleWeights;
      void dispose;
      return { ...rest, weights: plainTensors(weights), optimizer: JSON.parse(JSON.stringify(optimizer, (_k, v) => (v instanceof Float32Array ? Array.from(v) : v))) };
    } finally {
      ck.dispose();
    }
  };

  for (const f of ['state.json', 'weights.safetensors', 'optimizer.safetensors']) {
    test(`every mutation of ${f} is refused by name or loads identical`, () => {
      const file = path.join(ckDir, f);
      const orig = fs.readFileSync(file);
      const expected = load();
      const headerEnd = f === 'state.json' ? orig.length : 8 + Number(orig.readBigUInt64LE(0));
      const lengthFields = f === 'state.json' ? [] : [{ offset: 0, size: 8 as const, name: 'header length' }];
      const muts = mutate(orig, { seed: f.length, headerEnd, flips: f === 'state.json' ? 24 : 10, lengthFields });
      try {
        expect(fuzz(file, muts, load, expected, ['CheckpointError'])).toEqual([]);
      } finally {
        fs.writeFileSync(file, orig);
      }
    });
  }

  test('state.json edits that are valid JSON are refused by the checksum, naming the file', () => {
    const file = path.join(ckDir, 'state.json');
    const orig = fs.readFileSync(file, 'utf8');
    try {
      for (const [from, to] of [['"epoch": 1', '"epoch": 0'], ['"optimizer": {', '"optimizer": null, "x": {']]) {
        expect(orig).toContain(from);
        fs.writeFileSync(file, orig.replace(from, to));
        expect(() => loadCheckpoint(dir)).toThrow(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: checksum mismatch`));
      }
    } finally {
      fs.writeFileSync(file, orig);
    }
  });
});

/** An episode as plain values (the loaders' `source` is the path it was read from, which differs per mutation). */
const plainEpisode = (e: object) => ({ ...e, source: undefined });

describe('.npz episodes', () => {
  const T = 3, H = 8, W = 8;
  const obs = Uint8Array.from({ length: T * H * W * 3 }, (_, i) => (i * 37) % 256);
  const act = Float32Array.from({ length: T * 2 }, (_, i) => i * 0.25 - 0.5);
  const npz = (arrays: Record<string, Buffer>) => zipBytes(Object.fromEntries(Object.entries(arrays).map(([k, v]) => [`${k}.npy`, v])), crc32);
  const orig = npz({ obs: npyBytes('|u1', [T, H, W, 3], obs), action: npyBytes('<f4', [T, 2], act) });
  const load = (f: string) => plainEpisode(loadNpzEpisode(f, { height: H, width: W }));

  test('every mutation is refused by name or loads identical', () => {
    const file = path.join(tmp, 'ep.npz');
    fs.writeFileSync(file, orig);
    const expected = load(file);
    const cd = orig.readUInt32LE(orig.length - 6); // central directory offset
    const muts = mutate(orig, {
      seed: 21,
      headerEnd: cd,
      flips: 16,
      lengthFields: [
        { offset: 18, size: 4, name: 'first entry compressed size' },
        { offset: 22, size: 4, name: 'first entry size' },
        { offset: orig.length - 6, size: 4, name: 'central directory offset' },
        { offset: orig.length - 10, size: 4, name: 'central directory size' },
      ],
    });
    expect(fuzz(path.join(tmp, 'mut.npz'), muts, load, expected, ['DataFileError'])).toEqual([]);
  });

  test('a compressed entry that inflates beyond its declared size is refused without inflating it all', () => {
    const fixture = fs.readFileSync(path.join(__dirname, 'fixtures', 'npz', 'hardmaru_f16.npz'));
    const b = Buffer.from(fixture);
    const cd = b.readUInt32LE(b.length - 6);
    expect(b.readUInt16LE(cd + 10)).toBe(8); // deflated
    b.writeUInt32LE(10, cd + 24); // declared uncompressed size of the first entry
    const file = path.join(tmp, 'bomb.npz');
    fs.writeFileSync(file, b);
    expect(() => loadNpzEpisode(file)).toThrow(/bomb\.npz: .*inflates to more than its declared 10 bytes/);
  });

  test('NaN/Inf in frames, actions and rewards are refused by file and position; a NaN pixel no longer changes the scale', async () => {
    const f01 = Float32Array.from(obs, (v) => v / 255);
    const cases: [string, Buffer, RegExp][] = [];
    const nanPix = f01.slice();
    nanPix[5 * 3 + 1] = NaN; // frame 0, y 0, x 5, channel 1
    cases.push(['NaN pixel', npz({ obs: npyBytes('<f4', [T, H, W, 3], nanPix), action: npyBytes('<f4', [T, 2], act) }), /obs\[0, 0, 5, 1\] is NaN/]);
    const infAct = act.slice();
    infAct[3] = Infinity; // row 1, column 1
    cases.push(['Inf action', npz({ obs: npyBytes('|u1', [T, H, W, 3], obs), action: npyBytes('<f4', [T, 2], infAct) }), /action\[1, 1\] is Infinity/]);
    const hugeAct = Float64Array.from(act);
    hugeAct[4] = 1e300;
    cases.push(['float64 action beyond float32', npz({ obs: npyBytes('|u1', [T, H, W, 3], obs), action: npyBytes('<f8', [T, 2], hugeAct) }), /action\[2, 0\] is 1e\+300, outside float32/]);
    cases.push(['NaN reward', npz({ obs: npyBytes('|u1', [T, H, W, 3], obs), action: npyBytes('<f4', [T, 2], act), reward: npyBytes('<f4', [T], new Float32Array([0, NaN, 1])) }), /reward\[1\] is NaN/]);
    for (const [what, bytes, re] of cases) {
      const file = path.join(tmp, `${what.replace(/\W+/g, '_')}.npz`);
      fs.writeFileSync(file, bytes);
      expect(() => loadNpzEpisode(file, { height: H, width: W })).toThrow(new RegExp(`${path.basename(file)}: ${re.source}`));
      // The CLI's inspection reports it too, by file and position, with exit code 1.
      const err: string[] = [];
      const code = await main(['data', 'npz', file, '--out', path.join(tmp, 'sheets')], { out: () => {}, err: (m) => err.push(m), isTTY: false });
      expect(code).toBe(1);
      expect(err.join('\n')).toMatch(re);
      expect(err.join('\n')).toContain(file);
    }
    // Training on a folder with such a file stops, naming it (it used to train on the other files).
    const folder = path.join(tmp, 'npz-folder');
    fs.mkdirSync(folder);
    fs.writeFileSync(path.join(folder, 'a.npz'), orig);
    fs.writeFileSync(path.join(folder, 'b.npz'), cases[1][1]);
    const err: string[] = [];
    const code = await main(['train-vae', '--data', folder, '--out', path.join(tmp, 'npz-run')], { out: () => {}, err: (m) => err.push(m), isTTY: false });
    expect(code).toBe(2);
    expect(err.join('\n')).toMatch(/--data .*npz-folder: 1 file could not be loaded: .*b\.npz: action\[1, 1\] is Infinity/);
    // Float [0, 1] frames without NaN still load scaled to [0, 255].
    const file = path.join(tmp, 'f01.npz');
    fs.writeFileSync(file, npz({ obs: npyBytes('<f4', [T, H, W, 3], f01), action: npyBytes('<f4', [T, 2], act) }));
    expect(Array.from(loadNpzEpisode(file, { height: H, width: W }).frames)).toEqual(Array.from(obs));
  });
});

describe('PNG frames + actions.csv', () => {
  const H = 6, W = 5;
  const dir = path.join(tmp, 'png');
  fs.mkdirSync(dir);
  const img = (k: number) => ({ width: W, height: H, channels: 3, data: Uint8Array.from({ length: H * W * 3 }, (_, i) => (i * 13 + k * 29) % 256) });
  for (let k = 0; k < 2; ++k) fs.writeFileSync(path.join(dir, `${k}.png`), encodePNG(img(k) as never));
  const csv = 'steer,gas\n0.5,1\n-0.25,0\n';
  fs.writeFileSync(path.join(dir, 'actions.csv'), csv);
  const load = () => plainEpisode(loadPngEpisode(dir, { height: H, width: W }));

  test('every mutation of a PNG frame is refused by name or loads identical', () => {
    const file = path.join(dir, '1.png');
    const orig = fs.readFileSync(file);
    const expected = load();
    const muts = mutate(orig, {
      seed: 5,
      headerEnd: 33, // signature + IHDR
      flips: 16,
      lengthFields: [
        // PNG lengths are big-endian: +-1 on the low byte (a 2-byte little-endian edit starting there).
        { offset: 11, size: 2, name: 'IHDR length' },
        { offset: 19, size: 2, name: 'IHDR width' },
        { offset: 23, size: 2, name: 'IHDR height' },
      ],
    });
    try {
      expect(fuzz(file, muts, load, expected, ['DataFileError'])).toEqual([]);
    } finally {
      fs.writeFileSync(file, orig);
    }
  });

  test('image data that inflates beyond what the header size holds is refused', () => {
    const file = path.join(dir, '1.png');
    const orig = fs.readFileSync(file);
    const b = Buffer.from(encodePNG({ width: 64, height: 64, channels: 3, data: new Uint8Array(64 * 64 * 3) } as never));
    b.writeUInt32BE(W, 16);
    b.writeUInt32BE(H, 20);
    b.writeUInt32BE(crc32(b, 12, 29) >>> 0, 29); // a valid IHDR for the small size
    try {
      fs.writeFileSync(file, b);
      expect(() => loadPngEpisode(dir, { height: H, width: W })).toThrow(/1\.png: corrupt PNG: image data inflates to more than the 96 bytes a 5x6 image holds/);
    } finally {
      fs.writeFileSync(file, orig);
    }
  });

  test('actions.csv: empty cells, non-numbers, NaN/Inf, missing or extra rows and columns are refused by file and line', () => {
    const file = path.join(dir, 'actions.csv');
    // CSV has no checksum: a changed digit is a valid file with other numbers, so the mutations
    // here are the structural ones a reader can and must catch.
    const bad: [string, RegExp][] = [
      ['steer,gas\n0.5,\n-0.25,0\n', /line 2, column 2 is empty/],
      ['steer,gas\n,1\n-0.25,0\n', /line 2, column 1 is empty/],
      ['0.5,\n-0.25,0\n', /line 1, column 2 is empty/],
      ['steer,gas\n0.5,1\n-0.25,x\n', /line 3, column 2 is not a finite number/],
      ['steer,gas\n0.5,NaN\n-0.25,0\n', /line 2, column 2 is not a finite number/],
      ['steer,gas\n0.5,1\n-0.25,Infinity\n', /line 3, column 2 is not a finite number/],
      ['steer,gas\n0.5,1\n', /1 action rows for 2 frames/],
      ['steer,gas\n0.5,1\n-0.25,0\n1,1\n', /3 action rows for 2 frames/],
      ['steer,gas\n0.5,1\n-0.25\n', /row 2 has 1 values, the first row has 2/],
      ['steer,gas\n0.5,1,\n-0.25,0\n', /line 2, column 3 is empty/],
    ];
    try {
      for (const [text, re] of bad) {
        fs.writeFileSync(file, text);
        expect(() => loadPngEpisode(dir, { height: H, width: W })).toThrow(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: ${re.source}`));
      }
    } finally {
      fs.writeFileSync(file, csv);
    }
    expect(Array.from(loadPngEpisode(dir, { height: H, width: W }).actions)).toEqual([0.5, 1, -0.25, 0]);
  });
});

describe('metrics log', () => {
  test('a resume truncates a log with torn, null or non-object lines without failing', () => {
    const file = path.join(tmp, 'metrics.jsonl');
    fs.writeFileSync(file, ['{"kind":"batch","step":1,"epoch":0}', 'null', '5', '{"kind":"batch","step":2,"epoch":0}', '{"kind":"batch","step":3,"ep'].join('\n'));
    MetricsLog.truncateAfter(file, 1); // used to throw reading .step of null
    expect(readMetricsLog(file)).toEqual([{ kind: 'batch', step: 1, epoch: 0 }]);
    expect(fs.readdirSync(tmp).filter((f) => f.includes('metrics.jsonl.tmp'))).toEqual([]);
  });
});
