import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { loadNpzDataset, loadNpzEpisode, loadPngDataset, DataFileError } from '../src/data/loaders';
import { parseNpy, halfToFloat } from '../src/io/npy';
import { encodePNG } from '../src/io/png';

const dir = path.join(__dirname, 'fixtures', 'npz');
const obsAt = (n: number, y: number, x: number, c: number) => (n * 7 + y * 3 + x * 5 + c * 11) % 256;
const actAt = (n: number, a: number) => (n - 2) * 0.25 + a * 0.5;

function checkObs(frames: Uint8Array, n: number) {
  for (let f = 0; f < n; ++f)
    for (const [y, x, c] of [[0, 0, 0], [63, 63, 2], [10, 33, 1], [5, 60, 0]])
      expect(frames[((f * 64 + y) * 64 + x) * 3 + c]).toBe(obsAt(f, y, x, c));
}

describe('.npz episodes', () => {
  test('hardmaru layout, compressed, float16 actions', () => {
    const e = loadNpzEpisode(path.join(dir, 'hardmaru_f16.npz'));
    expect([e.length, e.height, e.width, e.actionDim]).toEqual([5, 64, 64, 3]);
    checkObs(e.frames, 5);
    for (let n = 0; n < 5; ++n) for (let a = 0; a < 3; ++a) expect(e.actions[n * 3 + a]).toBe(actAt(n, a));
  });

  test('hardmaru layout, stored, float32 actions', () => {
    const e = loadNpzEpisode(path.join(dir, 'hardmaru_f32_stored.npz'));
    expect(e.length).toBe(4);
    checkObs(e.frames, 4);
    expect(Array.from(e.actions.slice(0, 3))).toEqual([actAt(0, 0), actAt(0, 1), actAt(0, 2)]);
  });

  test("ctallec's layout with rewards and terminals", () => {
    const e = loadNpzEpisode(path.join(dir, 'ctallec.npz'));
    expect(e.length).toBe(6);
    checkObs(e.frames, 6);
    expect(Array.from(e.rewards as Float32Array)).toEqual([0, 0.5, 1, 1.5, 2, 2.5]);
    expect(Array.from(e.dones as Uint8Array)).toEqual([0, 0, 0, 0, 0, 1]);
    expect(e.actions[5 * 3 + 2]).toBe(actAt(5, 2));
  });

  test('frames of another size are resized with a note; integer actions', () => {
    const notes: string[] = [];
    const e = loadNpzEpisode(path.join(dir, 'small_frames.npz'), {}, notes);
    expect([e.length, e.height, e.width, e.actionDim]).toEqual([3, 64, 64, 1]);
    expect(Array.from(e.actions)).toEqual([0, 1, 2]);
    expect(notes.join('\n')).toMatch(/resized from 32x48 to 64x64/);
  });

  test('a folder loads its good files and names each bad one', () => {
    const res = loadNpzDataset(path.join(dir, 'bad'));
    expect(res.episodes.length).toBe(1);
    expect(res.episodes[0].source).toMatch(/good\.npz$/);
    const byFile = Object.fromEntries(res.errors.map((e) => [path.basename(e.file), e.message]));
    expect(byFile['length_mismatch.npz']).toMatch(/4 frames but action has 3 rows/);
    expect(byFile['wrong_dtype.npz']).toMatch(/dtype int16; expected uint8/);
    expect(byFile['truncated.npz']).toMatch(/truncated|not a zip/);
    expect(() => loadNpzEpisode(path.join(dir, 'bad', 'truncated.npz'))).toThrow(/truncated\.npz: /);
    expect(() => loadNpzDataset(path.join(dir, 'nope'))).toThrow(DataFileError);
  });

  test('npy: float16 conversion and big-endian / Fortran order', () => {
    expect(halfToFloat(0x3c00)).toBe(1);
    expect(halfToFloat(0xc000)).toBe(-2);
    expect(halfToFloat(0x0001)).toBe(2 ** -24);
    const header = "{'descr': '>i4', 'fortran_order': True, 'shape': (2, 3), }";
    const pad = (64 - ((10 + header.length + 1) % 64)) % 64;
    const h = Buffer.from(header + ' '.repeat(pad) + '\n', 'latin1');
    const pre = Buffer.from([0x93, ...Buffer.from('NUMPY'), 1, 0, h.length & 255, h.length >> 8]);
    const body = Buffer.alloc(24);
    [0, 3, 1, 4, 2, 5].forEach((v, i) => body.writeInt32BE(v, 4 * i)); // Fortran order of [[0,1,2],[3,4,5]]
    const a = parseNpy(Buffer.concat([pre, h, body]));
    expect(a.shape).toEqual([2, 3]);
    expect(Array.from(a.data)).toEqual([0, 1, 2, 3, 4, 5]);
  });
});

describe('PNG folders', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'wk-png-'));
  const frame = (v: number, w = 64, h = 64) => encodePNG({ width: w, height: h, channels: 3, data: new Uint8Array(w * h * 3).fill(v) });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  test('frames + actions.csv; bad episodes are reported, good ones load', () => {
    const good = path.join(root, 'ep1');
    fs.mkdirSync(good);
    for (let i = 0; i < 11; ++i) fs.writeFileSync(path.join(good, `frame_${i}.png`), frame(i * 10, 32, 32));
    fs.writeFileSync(path.join(good, 'actions.csv'), 'steer,gas,brake\n' + Array.from({ length: 11 }, (_, i) => `${i},0.5,0`).join('\n'));
    const short = path.join(root, 'ep2');
    fs.mkdirSync(short);
    for (let i = 0; i < 3; ++i) fs.writeFileSync(path.join(short, `${i}.png`), frame(1));
    fs.writeFileSync(path.join(short, 'actions.csv'), '0,0,0\n1,1,1\n');
    const corrupt = path.join(root, 'ep3');
    fs.mkdirSync(corrupt);
    const bytes = frame(5);
    bytes[40] ^= 0xff;
    fs.writeFileSync(path.join(corrupt, '0.png'), bytes);
    fs.writeFileSync(path.join(corrupt, 'actions.csv'), '0,0,0\n');
    const res = loadPngDataset(root);
    expect(res.episodes.length).toBe(1);
    const e = res.episodes[0];
    expect([e.length, e.height, e.width, e.actionDim]).toEqual([11, 64, 64, 3]);
    // frames sorted numerically: frame_10 comes last
    expect(e.frames[10 * 64 * 64 * 3]).toBe(100);
    expect(e.actions[10 * 3]).toBe(10);
    expect(res.notes.join()).toMatch(/resized/);
    const msgs = res.errors.map((x) => `${x.file}: ${x.message}`).join('\n');
    expect(msgs).toMatch(/ep2[\\/]actions\.csv: 2 action rows for 3 frames/);
    expect(msgs).toMatch(/ep3[\\/]0\.png: corrupt PNG: CRC mismatch/);
    void zlib;
  });
});

describe('.npz labels (semantic probe data)', () => {
  // written with the reliability suite's small npy/zip writers
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { npyBytes, zipBytes } = require('./helpers/fuzz') as typeof import('./helpers/fuzz');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const zlib = require('zlib') as typeof import('zlib');
  const crc32 = (b: Uint8Array) => (zlib as unknown as { crc32?: (b: Uint8Array) => number }).crc32?.(b) ?? crcTable(b);
  function crcTable(b: Uint8Array): number {
    let c = ~0;
    for (const x of b) {
      c ^= x;
      for (let k = 0; k < 8; ++k) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
    }
    return ~c >>> 0;
  }
  const T = 3, H = 8, W = 8;
  const obs = new Uint8Array(T * H * W * 3).map((_, i) => i % 251);
  const act = new Float32Array(T * 2).map((_, i) => i / 10);
  const write = (labels: Buffer | null, name = 'labels') => {
    const files: Record<string, Buffer> = { 'obs.npy': npyBytes('|u1', [T, H, W, 3], obs), 'action.npy': npyBytes('<f4', [T, 2], act) };
    if (labels) files[`${name}.npy`] = labels;
    const f = path.join(fs.mkdtempSync(path.join(require('os').tmpdir(), 'wk-npzlab-')), 'ep.npz');
    fs.writeFileSync(f, zipBytes(files, crc32));
    return f;
  };
  test('labels [N,K] become the episode labels; [N] one column', () => {
    const e = loadNpzEpisode(write(npyBytes('<i8', [T, 2], new BigInt64Array([0n, 1n, 2n, 0n, 1n, 1n]))), { height: 8, width: 8 });
    expect(e.labelDim).toBe(2);
    expect(Array.from(e.labels!)).toEqual([0, 1, 2, 0, 1, 1]);
    const one = loadNpzEpisode(write(npyBytes('<i4', [T], new Int32Array([3, 3, 4])), 'label'), { height: 8, width: 8 });
    expect(one.labelDim).toBe(1);
    expect(Array.from(one.labels!)).toEqual([3, 3, 4]);
    expect(loadNpzEpisode(write(null), { height: 8, width: 8 }).labelDim).toBe(0);
  });
  test('bad labels are refused by file and position', () => {
    expect(() => loadNpzEpisode(write(npyBytes('<i4', [T + 1], new Int32Array([0, 0, 0, 0]))), { height: 8, width: 8 })).toThrow(/labels must be \[N\] or \[N,K\] with N = 3/);
    expect(() => loadNpzEpisode(write(npyBytes('<f4', [T], new Float32Array([0, 1.5, 0]))), { height: 8, width: 8 })).toThrow(/ep\.npz: labels\[1\] is 1\.5; expected class indices/);
    expect(() => loadNpzEpisode(write(npyBytes('<i4', [T], new Int32Array([0, -1, 0]))), { height: 8, width: 8 })).toThrow(/labels\[1\] is -1/);
  });
});
