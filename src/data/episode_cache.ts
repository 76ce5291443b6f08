/**
 * A simple binary file of episodes, used to cache generated data on disk.
 *
 * Layout (little-endian): 'WKEP' magic, uint32 version (2), uint32 header length, 32 bytes of
 * SHA-256 over everything after them (header and data), a JSON header {height, width, actionDim,
 * labelDim, hasRewards, hasDones, episodes: [{length, source}], meta}, then per episode: frames
 * (uint8), actions (float32), rewards (float32, if any), dones (uint8, if any), labels (int32, if
 * any). Written to a temporary file and renamed, so a reader never sees a half-written cache.
 *
 * readEpisodes refuses, naming the file, anything that is not exactly such a file: a wrong
 * checksum (a flipped byte anywhere), a header whose sizes do not add up to the file's length, a
 * malformed header. A cache is only a copy of what can be regenerated, so callers
 * (generateEpisodes) regenerate it rather than train on data that differs from what they asked for.
 * Version 1 files (no checksum) are refused too, for the same reason.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createHash } from 'crypto';
import { Episode, validateEpisode } from './episode';

const MAGIC = 'WKEP';
const VERSION = 2;
const PREFIX = 12; // magic, version, header length
const DIGEST = 32; // SHA-256
const MAX_HEADER = 64 * 1024 * 1024;

/** A cache file that is not exactly what writeEpisodes wrote: `file` names it, the message says why. */
export class EpisodeFileError extends Error {
  constructor(
    public readonly file: string,
    public readonly reason: string,
  ) {
    super(`${file}: ${reason}`);
    this.name = 'EpisodeFileError';
  }
}

/** The cache folder: $WORLDKIT_CACHE, else ~/.cache/worldkit. */
export function defaultCacheDir(): string {
  return process.env.WORLDKIT_CACHE || path.join(os.homedir(), '.cache', 'worldkit');
}

interface Header {
  height: number;
  width: number;
  actionDim: number;
  labelDim: number;
  /** Channels per pixel (absent: 3, as files before issue 18). */
  channels?: number;
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
    ...((e0?.channels ?? 3) !== 3 ? { channels: e0!.channels } : {}),
    hasRewards: episodes.length > 0 && episodes.every((e) => !!e.rewards),
    hasDones: episodes.length > 0 && episodes.every((e) => !!e.dones),
    episodes: episodes.map((e) => ({ length: e.length, source: e.source })),
    meta,
  };
  episodes.forEach((e, i) => {
    if (e.height !== header.height || e.width !== header.width || e.actionDim !== header.actionDim || e.labelDim !== header.labelDim || (e.channels ?? 3) !== (header.channels ?? 3))
      throw new RangeError('writeEpisodes: all episodes must share frame size, channels, action width and label width');
    // The reader derives every array's size from the header: an array of another size would shift all that follow.
    validateEpisode(e, `writeEpisodes: episodes[${i}]`);
    if (header.labelDim > 0 && !e.labels) throw new RangeError(`writeEpisodes: episodes[${i}] has labelDim ${header.labelDim} but no labels`);
    if (header.hasRewards && e.rewards!.length !== e.length) throw new RangeError(`writeEpisodes: episodes[${i}] has ${e.rewards!.length} rewards for ${e.length} frames`);
    if (header.hasDones && e.dones!.length !== e.length) throw new RangeError(`writeEpisodes: episodes[${i}] has ${e.dones!.length} done flags for ${e.length} frames`);
  });
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const head = Buffer.alloc(PREFIX);
  head.write(MAGIC, 0, 'latin1');
  head.writeUInt32LE(VERSION, 4);
  head.writeUInt32LE(json.length, 8);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  const fd = fs.openSync(tmp, 'w');
  const hash = createHash('sha256');
  const put = (b: Buffer) => {
    hash.update(b);
    fs.writeSync(fd, b);
  };
  try {
    fs.writeSync(fd, head);
    fs.writeSync(fd, Buffer.alloc(DIGEST)); // filled in once the data is hashed
    put(json);
    for (const e of episodes) {
      put(bytesOf(e.frames));
      put(bytesOf(e.actions));
      if (header.hasRewards) put(bytesOf(e.rewards as Float32Array));
      if (header.hasDones) put(bytesOf(e.dones as Uint8Array));
      if (header.labelDim > 0) put(bytesOf(e.labels as Int32Array));
    }
    fs.writeSync(fd, hash.digest(), 0, DIGEST, PREFIX);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
}

const isCount = (v: unknown, min = 0): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= min;

export function readEpisodes(file: string): { episodes: Episode[]; meta?: unknown } {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new EpisodeFileError(file, `cannot read (${(e as Error).message})`);
  }
  const bad = (why: string) => new EpisodeFileError(file, why);
  if (buf.length < PREFIX || buf.toString('latin1', 0, 4) !== MAGIC) throw bad('not a worldkit episode file (bad magic)');
  const version = buf.readUInt32LE(4);
  if (version !== VERSION) throw bad(`episode file version ${version}, expected ${VERSION}${version === 1 ? ' (version 1 has no checksum)' : ''}`);
  if (buf.length < PREFIX + DIGEST) throw bad(`truncated: ${buf.length} bytes, shorter than the file's fixed header`);
  const hlen = buf.readUInt32LE(8);
  if (hlen > MAX_HEADER || PREFIX + DIGEST + hlen > buf.length) throw bad(`header length ${hlen} does not fit in the file (${buf.length} bytes): truncated or corrupt`);
  const digest = createHash('sha256').update(buf.subarray(PREFIX + DIGEST)).digest();
  if (!digest.equals(buf.subarray(PREFIX, PREFIX + DIGEST))) throw bad('checksum mismatch: the file was changed or damaged after it was written');
  let header: Header;
  try {
    header = JSON.parse(buf.toString('utf8', PREFIX + DIGEST, PREFIX + DIGEST + hlen)) as Header;
  } catch (e) {
    throw bad(`header is not valid JSON (${(e as Error).message})`);
  }
  // The checksum proves the file is what a writer wrote; these checks refuse what no writer of this version writes.
  if (!header || typeof header !== 'object' || !Array.isArray(header.episodes)) throw bad('header has no episode list');
  for (const k of ['height', 'width', 'actionDim', 'labelDim'] as const)
    if (!isCount(header[k], header.episodes.length && (k === 'height' || k === 'width') ? 1 : 0)) throw bad(`header ${k} is ${JSON.stringify(header[k])}, expected a non-negative integer`);
  if (typeof header.hasRewards !== 'boolean' || typeof header.hasDones !== 'boolean') throw bad('header hasRewards/hasDones must be booleans');
  if (header.channels !== undefined && !isCount(header.channels, 1)) throw bad(`header channels is ${JSON.stringify(header.channels)}, expected a positive integer`);
  const channels = header.channels ?? 3;
  const frameBytes = header.height * header.width * channels;
  const perFrame = frameBytes + header.actionDim * 4 + (header.hasRewards ? 4 : 0) + (header.hasDones ? 1 : 0) + header.labelDim * 4;
  let total = 0;
  header.episodes.forEach((h, i) => {
    if (!h || !isCount(h.length)) throw bad(`header episodes[${i}].length is ${JSON.stringify(h?.length)}, expected a non-negative integer`);
    if (h.source !== undefined && typeof h.source !== 'string') throw bad(`header episodes[${i}].source must be a string`);
    total += h.length * perFrame;
  });
  const body = buf.length - PREFIX - DIGEST - hlen;
  if (total !== body) throw bad(`the header describes ${total} bytes of episode data, the file holds ${body}`);
  let pos = PREFIX + DIGEST + hlen;
  const take = (n: number): Buffer => {
    const b = buf.subarray(pos, pos + n);
    pos += n;
    return b;
  };
  const copy = (b: Buffer): ArrayBuffer => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
  const episodes: Episode[] = header.episodes.map((h) => {
    const n = h.length;
    const frames = new Uint8Array(copy(take(n * frameBytes)));
    const actions = new Float32Array(copy(take(n * header.actionDim * 4)));
    const rewards = header.hasRewards ? new Float32Array(copy(take(n * 4))) : undefined;
    const dones = header.hasDones ? new Uint8Array(copy(take(n))) : undefined;
    const labels = header.labelDim > 0 ? new Int32Array(copy(take(n * header.labelDim * 4))) : undefined;
    return {
      length: n,
      height: header.height,
      width: header.width,
      ...(channels !== 3 ? { channels } : {}),
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
