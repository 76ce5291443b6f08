/**
 * .npy parsing (numpy's array format, versions 1-3): little- or big-endian bool, int8..int64,
 * uint8..uint64, float16, float32, float64; C order (Fortran order is transposed on read).
 * Values arrive as a typed array of the natural JS type: Uint8Array for uint8/bool, Int32Array
 * or Float64Array for the other integers (by range), Float32Array for float16/float32, and
 * Float64Array for float64.
 */
export interface NpyArray {
  dtype: string;
  shape: number[];
  data: Uint8Array | Int32Array | Float32Array | Float64Array;
}

export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

export function parseNpy(buf: Buffer): NpyArray {
  if (buf.length < 10 || buf[0] !== 0x93 || buf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error('not a .npy array (bad magic)');
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const hstart = major === 1 ? 10 : 12;
  if (hstart + hlen > buf.length) throw new Error('truncated .npy header');
  const header = buf.toString('latin1', hstart, hstart + hlen);
  const descr = /'descr':\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*True/.test(header);
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || shapeText === undefined) throw new Error(`unreadable .npy header: ${header.trim()}`);
  const shape = shapeText.split(',').map((x) => x.trim()).filter((x) => x.length > 0).map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new Error(`bad .npy shape (${shapeText})`);
  const count = shape.reduce((a, b) => a * b, 1);
  const m = /^([<>|=])([biuf])(\d+)$/.exec(descr);
  if (!m) throw new Error(`unsupported .npy dtype '${descr}' (only bool, integers and floats)`);
  const big = m[1] === '>';
  const kind = m[2], size = Number(m[3]);
  const body = buf.subarray(hstart + hlen);
  if (body.length < count * size) throw new Error(`truncated .npy data: ${body.length} bytes for ${count} values of ${descr}`);
  const dtype = kind === 'b' ? 'bool' : `${kind === 'f' ? 'float' : kind === 'i' ? 'int' : 'uint'}${size * 8}`;
  let data: NpyArray['data'];
  const rd = (i: number): number => {
    const o = i * size;
    switch (kind + size) {
      case 'b1': case 'u1': return body[o];
      case 'i1': return body.readInt8(o);
      case 'i2': return big ? body.readInt16BE(o) : body.readInt16LE(o);
      case 'u2': return big ? body.readUInt16BE(o) : body.readUInt16LE(o);
      case 'i4': return big ? body.readInt32BE(o) : body.readInt32LE(o);
      case 'u4': return big ? body.readUInt32BE(o) : body.readUInt32LE(o);
      case 'i8': return Number(big ? body.readBigInt64BE(o) : body.readBigInt64LE(o));
      case 'u8': return Number(big ? body.readBigUInt64BE(o) : body.readBigUInt64LE(o));
      case 'f2': return halfToFloat(big ? body.readUInt16BE(o) : body.readUInt16LE(o));
      case 'f4': return big ? body.readFloatBE(o) : body.readFloatLE(o);
      case 'f8': return big ? body.readDoubleBE(o) : body.readDoubleLE(o);
    }
    throw new Error(`unsupported .npy dtype '${descr}'`);
  };
  if (kind === 'u' && size === 1) data = new Uint8Array(body.subarray(0, count));
  else if (kind === 'b') data = new Uint8Array(body.subarray(0, count));
  else if (kind === 'f' && size <= 4) data = new Float32Array(count);
  else if (kind === 'f') data = new Float64Array(count);
  else if (size <= 2 || (kind === 'i' && size === 4)) data = new Int32Array(count);
  else data = new Float64Array(count);
  if (!(kind === 'u' && size === 1) && kind !== 'b') for (let i = 0; i < count; ++i) data[i] = rd(i);
  if (fortran && shape.length > 1) data = fromFortran(data, shape);
  return { dtype, shape, data };
}

function fromFortran<T extends NpyArray['data']>(src: T, shape: number[]): T {
  const out = new (src.constructor as new (n: number) => T)(src.length);
  const nd = shape.length;
  const cStride = new Array(nd).fill(1), fStride = new Array(nd).fill(1);
  for (let i = nd - 2; i >= 0; --i) cStride[i] = cStride[i + 1] * shape[i + 1];
  for (let i = 1; i < nd; ++i) fStride[i] = fStride[i - 1] * shape[i - 1];
  for (let c = 0; c < src.length; ++c) {
    let rem = c, f = 0;
    for (let d = 0; d < nd; ++d) {
      const idx = Math.floor(rem / cStride[d]);
      rem -= idx * cStride[d];
      f += idx * fStride[d];
    }
    out[c] = src[f];
  }
  return out;
}

/** The arrays of a .npz archive (a zip of .npy files), by name without '.npy'. */
export function parseNpz(buf: Buffer, readZip: (b: Buffer) => Map<string, Buffer>): Map<string, NpyArray> {
  const out = new Map<string, NpyArray>();
  for (const [name, data] of readZip(buf)) {
    const key = name.replace(/\.npy$/, '');
    try {
      out.set(key, parseNpy(data));
    } catch (e) {
      throw new Error(`array '${key}': ${(e as Error).message}`);
    }
  }
  return out;
}
