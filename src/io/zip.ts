/**
 * Zip archives (numpy's .npz: np.savez and np.savez_compressed), read lazily: `openZip` reads the
 * central directory (entry names, sizes, CRCs; zip64 sizes in the extra field) and inflates
 * nothing; `read(name)` inflates that one entry through fflate's streaming Inflate, fed in 64 KiB
 * slices, and stops as soon as the output passes the entry's declared size, so a small entry that
 * inflates to gigabytes (a zip bomb, or a corrupt size) never exhausts memory. Stored (method 0)
 * and deflated (method 8) entries, CRC-checked. Errors say what is wrong; callers add the file name.
 */
import { Inflate } from 'fflate';
import { crc32 } from './png';

/** The largest entry inflated (one Buffer; an .npz array beyond it would not fit a typed array either). */
const MAX_ENTRY = 2 ** 31 - 1;
/** Compressed bytes handed to the inflater at a time (deflate expands at most ~1032x). */
const SLICE = 1 << 16;

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  crc: number;
  localOffset: number;
}

export function listZip(buf: Buffer): ZipEntry[] {
  // End of central directory: signature 0x06054b50 within the last 64 KiB + 22 bytes.
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 65557); --i) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('not a zip archive or truncated (no end-of-central-directory record)');
  let count = buf.readUInt16LE(eocd + 10);
  let cdSize = buf.readUInt32LE(eocd + 12);
  let cdOffset = buf.readUInt32LE(eocd + 16);
  if (cdOffset === 0xffffffff || count === 0xffff) {
    // zip64 end of central directory locator just before the EOCD
    const loc = eocd - 20;
    if (loc < 0 || buf.readUInt32LE(loc) !== 0x07064b50) throw new Error('corrupt zip: zip64 locator missing');
    const rec = Number(buf.readBigUInt64LE(loc + 8));
    if (rec + 56 > buf.length || buf.readUInt32LE(rec) !== 0x06064b50) throw new Error('corrupt zip: zip64 record missing');
    count = Number(buf.readBigUInt64LE(rec + 32));
    cdSize = Number(buf.readBigUInt64LE(rec + 40));
    cdOffset = Number(buf.readBigUInt64LE(rec + 48));
  }
  if (cdOffset + cdSize > buf.length) throw new Error('truncated zip: central directory lies past the end of the file');
  const entries: ZipEntry[] = [];
  let p = cdOffset;
  for (let i = 0; i < count; ++i) {
    if (p + 46 > buf.length || buf.readUInt32LE(p) !== 0x02014b50) throw new Error(`corrupt zip: bad central directory entry ${i}`);
    const method = buf.readUInt16LE(p + 10);
    const crc = buf.readUInt32LE(p + 16);
    let compressedSize = buf.readUInt32LE(p + 20);
    let size = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28), extraLen = buf.readUInt16LE(p + 30), commentLen = buf.readUInt16LE(p + 32);
    let localOffset = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    // zip64 extra field (id 1): present values replace the 0xffffffff ones, in order
    let e = p + 46 + nameLen;
    const eEnd = e + extraLen;
    while (e + 4 <= eEnd) {
      const id = buf.readUInt16LE(e), len = buf.readUInt16LE(e + 2);
      if (id === 1) {
        let q = e + 4;
        if (size === 0xffffffff) { size = Number(buf.readBigUInt64LE(q)); q += 8; }
        if (compressedSize === 0xffffffff) { compressedSize = Number(buf.readBigUInt64LE(q)); q += 8; }
        if (localOffset === 0xffffffff) { localOffset = Number(buf.readBigUInt64LE(q)); q += 8; }
      }
      e += 4 + len;
    }
    entries.push({ name, method, compressedSize, size, crc, localOffset });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** Reads one entry (as listed by listZip) from the archive. */
export function readZipEntry(buf: Buffer, e: ZipEntry): Buffer {
  const p = e.localOffset;
  if (p + 30 > buf.length || buf.readUInt32LE(p) !== 0x04034b50) throw new Error(`corrupt zip: bad local header for ${e.name}`);
  const start = p + 30 + buf.readUInt16LE(p + 26) + buf.readUInt16LE(p + 28);
  if (start + e.compressedSize > buf.length) throw new Error(`truncated zip: entry ${e.name} is cut off`);
  const raw = buf.subarray(start, start + e.compressedSize);
  let data: Buffer;
  if (e.method === 0) data = raw;
  else if (e.method === 8) {
    if (e.size > MAX_ENTRY) throw new Error(`entry ${e.name} declares ${e.size} bytes, more than the ${MAX_ENTRY} this reader inflates`);
    const parts: Uint8Array[] = [];
    let bytes = 0;
    let ended = false;
    let tooBig = false;
    const inflater = new Inflate((chunk, final) => {
      bytes += chunk.length;
      if (bytes > e.size) tooBig = true;
      else parts.push(chunk);
      if (final) ended = true;
    });
    try {
      for (let q = 0; q < raw.length && !tooBig && !ended; q += SLICE) inflater.push(raw.subarray(q, Math.min(raw.length, q + SLICE)), q + SLICE >= raw.length);
    } catch (err) {
      if (!tooBig) throw new Error(`corrupt zip: entry ${e.name} does not inflate (${(err as Error).message})`);
    }
    if (tooBig) throw new Error(`corrupt zip: entry ${e.name} inflates to more than its declared ${e.size} bytes`);
    if (!ended) throw new Error(`corrupt zip: entry ${e.name} does not inflate (the deflate stream is cut off)`);
    data = Buffer.concat(parts);
  } else throw new Error(`unsupported zip compression method ${e.method} for ${e.name} (only stored and deflate)`);
  if (data.length !== e.size) throw new Error(`corrupt zip: entry ${e.name} has ${data.length} bytes, expected ${e.size}`);
  if (crc32(data) !== e.crc) throw new Error(`corrupt zip: CRC mismatch in entry ${e.name}`);
  return data;
}

export interface ZipArchive {
  /** Every entry, in central-directory order; nothing is inflated to list them. */
  readonly entries: ZipEntry[];
  /** One entry's bytes, inflated now (throws when `name` is not in the archive). */
  read(name: string): Buffer;
}

/** A zip archive whose entries are inflated one at a time, on request. */
export function openZip(buf: Buffer): ZipArchive {
  const entries = listZip(buf);
  return {
    entries,
    read(name: string): Buffer {
      const e = entries.find((x) => x.name === name);
      if (!e) throw new Error(`no entry '${name}' in the zip archive (entries: ${entries.map((x) => x.name).join(', ') || 'none'})`);
      return readZipEntry(buf, e);
    },
  };
}

/** All entries of a zip archive by name (each inflated in turn through openZip). */
export function readZip(buf: Buffer): Map<string, Buffer> {
  const zip = openZip(buf);
  const out = new Map<string, Buffer>();
  for (const e of zip.entries) out.set(e.name, zip.read(e.name));
  return out;
}
