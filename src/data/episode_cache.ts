/**
 * A simple binary file of episodes, used to cache generated data on disk.
 *
 * Layout (little-endian): 'WKEP' magic, uint32 version (1), uint32 header length, a JSON header
 * {height, width, actionDim, labelDim, hasRewards, hasDones, episodes: [{length, source}], meta},
 * then per episode: frames (uint8), actions (float32), rewards (float32, if any), dones (uint8,
 * if any), labels (int32, if any). Written to a temporary file and renamed, so a reader never
 * sees a half-written cache.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Episode } from './episode';

const MAGIC = 'WKEP';
const VERSION = 1;

/** The cache folder: $WORLDKIT_CACHE, else ~/.cache/worldkit. */
export function defaultCacheDir(): string {
  return process.env.WORLDKIT_CACHE || path.join(os.homedir(), '.cache', 'worldkit');
}

interface Header {
  height: number;
  width: number;
  actionDim: number;
  labelDim: number;
  hasRewards: boolean;
  hasDones: boolean;
  episodes: { length: number; source?: string }[];
  meta?: unknown;
}

function bytesOf(a: ArrayBufferView): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

export function writeEpisodes(file: string, episodes: Episode[], meta?: unknown): void {
  const e0 = episodes[0];
  const header: Header = {
    height: e0?.height ?? 0,
    width: e0?.width ?? 0,
    actionDim: e0?.actionDim ?? 0,
    labelDim: e0?.labelDim ?? 0,
    hasRewards: episodes.length > 0 && episodes.every((e) => !!e.rewards),
    hasDones: episodes.length > 0 && episodes.every((e) => !!e.dones),
    episodes: episodes.map((e) => ({ length: e.length, source: e.source })),
    meta,
  };
  for (const e of episodes) {
    if (e.height !== header.height || e.width !== header.width || e.actionDim !== header.actionDim || e.labelDim !== header.labelDim)
      throw new RangeError('writeEpisodes: all episodes must share frame size, action width and label width');
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const head = Buffer.alloc(12);
  head.write(MAGIC, 0, 'latin1');
  head.writeUInt32LE(VERSION, 4);
  head.writeUInt32LE(json.length, 8);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, head);
    fs.writeSync(fd, json);
    for (const e of episodes) {
      fs.writeSync(fd, bytesOf(e.frames));
      fs.writeSync(fd, bytesOf(e.actions));
      if (header.hasRewards) fs.writeSync(fd, bytesOf(e.rewards as Float32Array));
      if (header.hasDones) fs.writeSync(fd, bytesOf(e.dones as Uint8Array));
      if (header.labelDim > 0 && e.labels) fs.writeSync(fd, bytesOf(e.labels));
    }
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

export function readEpisodes(file: string): { episodes: Episode[]; meta?: unknown } {
  const buf = fs.readFileSync(file);
  if (buf.length < 12 || buf.toString('latin1', 0, 4) !== MAGIC) throw new Error(`${file}: not a worldkit episode file`);
  const version = buf.readUInt32LE(4);
  if (version !== VERSION) throw new Error(`${file}: episode file version ${version}, expected ${VERSION}`);
  const hlen = buf.readUInt32LE(8);
  const header = JSON.parse(buf.toString('utf8', 12, 12 + hlen)) as Header;
  let pos = 12 + hlen;
  const take = (n: number): Buffer => {
    if (pos + n > buf.length) throw new Error(`${file}: truncated episode file`);
    const b = buf.subarray(pos, pos + n);
    pos += n;
    return b;
  };
  const copy = (b: Buffer): ArrayBuffer => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
  const episodes: Episode[] = header.episodes.map((h) => {
    const n = h.length;
    const frames = new Uint8Array(copy(take(n * header.height * header.width * 3)));
    const actions = new Float32Array(copy(take(n * header.actionDim * 4)));
    const rewards = header.hasRewards ? new Float32Array(copy(take(n * 4))) : undefined;
    const dones = header.hasDones ? new Uint8Array(copy(take(n))) : undefined;
    const labels = header.labelDim > 0 ? new Int32Array(copy(take(n * header.labelDim * 4))) : undefined;
    return {
      length: n,
      height: header.height,
      width: header.width,
      frames,
      actionDim: header.actionDim,
      actions,
      rewards,
      dones,
      labelDim: header.labelDim,
      labels,
      source: h.source,
    };
  });
  return { episodes, meta: header.meta };
}
