/**
 * safetensors (https://huggingface.co/docs/safetensors) reader and writer, so checkpoints move
 * between worldkit and PyTorch:
 *
 *   [u64 little-endian N][N bytes of JSON header][data]
 *   header: { name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__"?: {str: str} }
 *   offsets are relative to the start of the data, little-endian values.
 *
 * Writes F32 / I32 / U8 (the tensor's dtype). Reads F32, F16, BF16, F64 (to float32), I32,
 * I64 (to int32 when every value fits), U8 and BOOL (to uint8). Every header field and offset
 * is validated before anything is allocated; errors name the file and the tensor. As in the
 * format's reference implementation, the tensors' byte ranges must tile the data exactly (sorted
 * by offset: the first starts at 0, each starts where the previous ends, the last ends at the end
 * of the file): a header length off by one, which would shift every value by a byte, is refused.
 * Tensor and metadata names are keys of prototype-free objects, so a tensor named `__proto__`
 * or `constructor` is an ordinary name.
 *
 * Integrity: files worldkit writes carry `__metadata__["worldkit.sha256"]`, a SHA-256 over the
 * tensor table (names, dtypes, shapes, offsets), the other metadata and the data; a file that
 * has it is checked on load, so a flipped byte anywhere is refused instead of loading a changed
 * value. The key is an ordinary metadata string (other readers ignore it) and is not returned in
 * `metadata`; files without it (PyTorch's) load as before.
 */
import * as fs from 'fs';
import { createHash } from 'crypto';
import { Tensor, checkTensor, shapeSize } from '../tensor/tensor';
import { writeFileAtomic } from './atomic_file';

const DTYPE_OF: Record<string, string> = { float32: 'F32', int32: 'I32', uint8: 'U8' };
const BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I32: 4, I64: 8, U8: 1, BOOL: 1 };
const MAX_HEADER = 100 * 1024 * 1024;
export const CHECKSUM_KEY = 'worldkit.sha256';

/** The checksum of a file's contents: its tensor table and metadata in a canonical order, then its data bytes. */
function contentDigest(table: [string, string, number[], number, number][], metadata: Record<string, string>, data: Uint8Array[]): string {
  const meta = Object.keys(metadata).filter((k) => k !== CHECKSUM_KEY).sort().map((k) => [k, metadata[k]]);
  const rows = table.slice().sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const h = createHash('sha256').update(JSON.stringify([rows, meta]) + '\n');
  for (const d of data) h.update(d);
  return h.digest('hex');
}

export interface SafetensorsFile {
  tensors: Record<string, Tensor>;
  metadata: Record<string, string>;
}

/** The bytes of a safetensors file holding `tensors` (and optional string metadata). */
export function encodeSafetensors(tensors: Record<string, Tensor>, metadata?: Record<string, string>): Uint8Array {
  const fn = 'saveSafetensors';
  if (typeof tensors !== 'object' || tensors === null) throw new TypeError(`${fn}: tensors must be an object of name -> Tensor`);
  // Prototype-free, so a tensor named '__proto__' becomes a key instead of replacing the prototype.
  const header: Record<string, unknown> = Object.create(null);
  const meta: Record<string, string> = Object.create(null);
  if (metadata) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new TypeError(`${fn}: metadata '${k}' must be a string, got ${typeof v}`);
      if (k === CHECKSUM_KEY) throw new RangeError(`${fn}: metadata '${CHECKSUM_KEY}' is reserved (worldkit writes the checksum there)`);
      meta[k] = v;
    }
  }
  header.__metadata__ = meta; // filled with the checksum below, once the data is known
  const table: [string, string, number[], number, number][] = [];
  const names = Object.keys(tensors).sort();
  let offset = 0;
  const parts: Uint8Array[] = [];
  for (const name of names) {
    if (name === '__metadata__') throw new RangeError(`${fn}: '__metadata__' is reserved and cannot name a tensor`);
    const t = checkTensor(fn, `tensors['${name}']`, tensors[name]);
    const d = t.hostData(fn); // a device tensor is copied to the host
    const bytes = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
    header[name] = { dtype: DTYPE_OF[t.dtype], shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    table.push([name, DTYPE_OF[t.dtype], t.shape.slice(), offset, offset + bytes.length]);
    parts.push(bytes);
    offset += bytes.length;
  }
  meta[CHECKSUM_KEY] = contentDigest(table, meta, parts);
  let json = JSON.stringify(header);
  // Pad with spaces so the data starts 8-byte aligned.
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const hb = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + hb.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  let at = 8 + hb.length;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Writes `tensors` to `file` as safetensors (atomically: a crash leaves the old file or the new). */
export function saveSafetensors(file: string, tensors: Record<string, Tensor>, metadata?: Record<string, string>): void {
  if (typeof file !== 'string') throw new TypeError(`saveSafetensors: path must be a string, got ${typeof file}`);
  writeFileAtomic(file, encodeSafetensors(tensors, metadata));
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Parses safetensors bytes; `source` names the file in errors. */
export function decodeSafetensors(bytes: Uint8Array, source = '<buffer>'): SafetensorsFile {
  const fail = (msg: string) => new RangeError(`loadSafetensors: ${source}: ${msg}`);
  if (bytes.length < 8) throw fail(`file is ${bytes.length} bytes, too short for a safetensors header`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(dv.getBigUint64(0, true));
  if (n > MAX_HEADER || 8 + n > bytes.length)
    throw fail(`header length ${n} does not fit in the file (${bytes.length} bytes): not a safetensors file or truncated`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 8, n).toString('utf8'));
  } catch (e) {
    throw fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw fail('header must be a JSON object');
  const dataStart = 8 + n;
  const dataLen = bytes.length - dataStart;
  const metadata: Record<string, string> = Object.create(null);
  const tensors: Record<string, Tensor> = Object.create(null);
  const plan: { name: string; dtype: string; shape: number[]; begin: number; end: number; count: number }[] = [];
  // Pass 1: validate every entry and the layout; nothing is allocated until the whole header is sound.
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (typeof info !== 'object' || info === null || Array.isArray(info)) throw fail('__metadata__ must be an object of strings');
      for (const [k, v] of Object.entries(info)) metadata[k] = String(v);
      continue;
    }
    const ent = info as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof ent !== 'object' || ent === null || Array.isArray(ent)) throw fail(`tensor '${name}': entry must be an object`);
    const dtype = ent.dtype;
    if (typeof dtype !== 'string' || !Object.prototype.hasOwnProperty.call(BYTES, dtype))
      throw fail(`tensor '${name}': unsupported dtype ${JSON.stringify(dtype)} (supported: ${Object.keys(BYTES).join(', ')})`);
    const shape = ent.shape;
    if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0))
      throw fail(`tensor '${name}': shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
    const offs = ent.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || offs.some((o) => !Number.isSafeInteger(o) || o < 0))
      throw fail(`tensor '${name}': data_offsets must be [begin, end], got ${JSON.stringify(offs)}`);
    const [b, e] = offs as number[];
    const count = shapeSize(shape as number[]);
    const need = count * BYTES[dtype];
    if (e < b || e - b !== need)
      throw fail(`tensor '${name}': data_offsets [${b}, ${e}] cover ${e - b} bytes but ${dtype} ${JSON.stringify(shape)} needs ${need}`);
    if (e > dataLen) throw fail(`tensor '${name}': data_offsets end ${e} is past the end of the data (${dataLen} bytes)`);
    plan.push({ name, dtype, shape: shape as number[], begin: b, end: e, count });
  }
  const spans = plan.slice().sort((p, q) => p.begin - q.begin || p.end - q.end);
  let at = 0;
  let prev = '';
  for (const p of spans) {
    if (p.begin < at) throw fail(`tensors '${prev}' and '${p.name}' overlap in the data ('${p.name}' starts at ${p.begin}, '${prev}' ends at ${at})`);
    if (p.begin > at) throw fail(`tensor '${p.name}' starts at ${p.begin} but ${prev ? `'${prev}' ends` : 'the data starts'} at ${at}: the data has a gap (a header length off by one, or a corrupt offset)`);
    at = p.end;
    prev = p.name;
  }
  if (at !== dataLen) throw fail(`the tensors cover ${at} bytes of data but the file holds ${dataLen} after the header: the header length is wrong or the file has extra bytes`);
  const sum = metadata[CHECKSUM_KEY];
  if (sum !== undefined) {
    const table = plan.map((p): [string, string, number[], number, number] => [p.name, p.dtype, p.shape, p.begin, p.end]);
    if (contentDigest(table, metadata, [bytes.subarray(dataStart)]) !== sum) throw fail('checksum mismatch: the file was changed or damaged after it was written');
    delete metadata[CHECKSUM_KEY];
  }
  // Pass 2: copy the values out.
  for (const { name, dtype, shape, begin, count } of plan) {
    const off = dataStart + begin;
    const need = count * BYTES[dtype];
    const view = new DataView(bytes.buffer, bytes.byteOffset + off, need);
    let t: Tensor;
    switch (dtype) {
      case 'F32': {
        t = Tensor.empty(shape, 'float32');
        const o = t._data as Float32Array;
        for (let i = 0; i < count; ++i) o[i] = view.getFloat32(4 * i, true);
        break;
      }
      case 'F64': {
        t = Tensor.empty(shape, 'float32');
        const o = t._data as Float32Array;
        for (let i = 0; i < count; ++i) o[i] = view.getFloat64(8 * i, true);
        break;
      }
      case 'F16':
      case 'BF16': {
        t = Tensor.empty(shape, 'float32');
        const o = t._data as Float32Array;
        if (dtype === 'F16') for (let i = 0; i < count; ++i) o[i] = halfToFloat(view.getUint16(2 * i, true));
        else {
          const u = new Uint32Array(o.buffer, o.byteOffset, count);
          for (let i = 0; i < count; ++i) u[i] = view.getUint16(2 * i, true) << 16;
        }
        break;
      }
      case 'I32': {
        t = Tensor.empty(shape, 'int32');
        const o = t._data as Int32Array;
        for (let i = 0; i < count; ++i) o[i] = view.getInt32(4 * i, true);
        break;
      }
      case 'I64': {
        t = Tensor.empty(shape, 'int32');
        const o = t._data as Int32Array;
        for (let i = 0; i < count; ++i) {
          const v = view.getBigInt64(8 * i, true);
          if (v > 2147483647n || v < -2147483648n) {
            t.dispose();
            for (const u of Object.values(tensors)) u.dispose();
            throw fail(`tensor '${name}': I64 value ${v} at index ${i} does not fit in int32`);
          }
          o[i] = Number(v);
        }
        break;
      }
      default: {
        t = Tensor.empty(shape, 'uint8');
        (t._data as Uint8Array).set(bytes.subarray(off, off + need));
      }
    }
    t.name = name;
    tensors[name] = t;
  }
  return { tensors, metadata };
}

/** Reads a safetensors file: name -> Tensor (float32, int32 or uint8). */
export function loadSafetensors(file: string): Record<string, Tensor> {
  return loadSafetensorsWithMetadata(file).tensors;
}

/** Reads a safetensors file with its `__metadata__` strings. */
export function loadSafetensorsWithMetadata(file: string): SafetensorsFile {
  if (typeof file !== 'string') throw new TypeError(`loadSafetensors: path must be a string, got ${typeof file}`);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw new Error(`loadSafetensors: cannot read ${file}: ${(e as Error).message}`);
  }
  return decodeSafetensors(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), file);
}
