/**
 * A small seeded file fuzzer for test/reliability_files.test.ts: from a valid file's bytes it
 * makes truncations, byte flips in the header and in the body, and +-1 edits of length fields.
 * The test then asserts, per mutation, "a clear error naming the file, or data identical to the
 * original" (a mutation can be harmless, e.g. a flip inside JSON whitespace or zip padding).
 */
export interface Mutation {
  name: string;
  bytes: Buffer;
}

/** xorshift32: a deterministic stream, so a failing mutation is reproducible by its name. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

export interface LengthField {
  offset: number;
  /** 2, 4 or 8 bytes, little-endian. */
  size: 2 | 4 | 8;
  name: string;
}

export function mutate(orig: Buffer, o: { seed: number; headerEnd: number; flips?: number; lengthFields?: LengthField[] }): Mutation[] {
  const r = rng(o.seed);
  const out: Mutation[] = [];
  const n = orig.length;
  for (const cut of [0, 1, 7, 8, o.headerEnd - 1, o.headerEnd, Math.floor(n / 2), n - 1])
    if (cut >= 0 && cut < n) out.push({ name: `truncated to ${cut} bytes`, bytes: Buffer.from(orig.subarray(0, cut)) });
  out.push({ name: 'one byte appended', bytes: Buffer.concat([orig, Buffer.from([0])]) });
  const flips = o.flips ?? 8;
  for (const [lo, hi, where] of [[0, o.headerEnd, 'header'], [o.headerEnd, n, 'body']] as const) {
    if (hi <= lo) continue;
    for (let k = 0; k < flips; ++k) {
      const at = lo + Math.floor(r() * (hi - lo));
      const b = Buffer.from(orig);
      b[at] ^= 1 + Math.floor(r() * 255);
      out.push({ name: `${where} byte ${at} flipped (${orig[at]} -> ${b[at]})`, bytes: b });
    }
  }
  for (const f of o.lengthFields ?? []) {
    for (const d of [-1, 1]) {
      const b = Buffer.from(orig);
      if (f.size === 8) b.writeBigUInt64LE(BigInt.asUintN(64, b.readBigUInt64LE(f.offset) + BigInt(d)), f.offset);
      else if (f.size === 4) b.writeUInt32LE((b.readUInt32LE(f.offset) + d) >>> 0, f.offset);
      else b.writeUInt16LE((b.readUInt16LE(f.offset) + d) & 0xffff, f.offset);
      out.push({ name: `${f.name} ${d > 0 ? '+1' : '-1'}`, bytes: b });
    }
  }
  return out;
}

/** Deep equality of loaded data: typed arrays by bytes, objects by keys (prototype-free objects too). */
export function sameData(a: unknown, b: unknown): boolean {
  if (ArrayBuffer.isView(a) || ArrayBuffer.isView(b)) {
    if (!ArrayBuffer.isView(a) || !ArrayBuffer.isView(b) || a.constructor !== b.constructor) return false;
    return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  }
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return Object.is(a, b);
  if (a instanceof Map || b instanceof Map) return a instanceof Map && b instanceof Map && sameData(Object.fromEntries(a), Object.fromEntries(b));
  const ka = Object.keys(a).sort(), kb = Object.keys(b).sort();
  if (ka.join('\u0000') !== kb.join('\u0000')) return false;
  return ka.every((k) => sameData((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** A .npy file (version 1.0, C order) for `descr` ('<f4', '<f8', '|u1', ...). */
export function npyBytes(descr: string, shape: number[], data: ArrayBufferView): Buffer {
  let h = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  h += ' '.repeat((64 - ((10 + h.length + 1) % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head[0] = 0x93;
  head.write('NUMPY', 1, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(h.length, 8);
  return Buffer.concat([head, Buffer.from(h, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

/** A stored (uncompressed) zip of `files`, as np.savez writes. */
export function zipBytes(files: Record<string, Buffer>, crc32: (b: Uint8Array) => number): Buffer {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let off = 0;
  for (const [name, data] of Object.entries(files)) {
    const nb = Buffer.from(name);
    const crc = crc32(data);
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    lh.writeUInt16LE(20, 4);
    lh.writeUInt32LE(crc, 14);
    lh.writeUInt32LE(data.length, 18);
    lh.writeUInt32LE(data.length, 22);
    lh.writeUInt16LE(nb.length, 26);
    locals.push(lh, nb, data);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0);
    ch.writeUInt16LE(20, 4);
    ch.writeUInt16LE(20, 6);
    ch.writeUInt32LE(crc, 16);
    ch.writeUInt32LE(data.length, 20);
    ch.writeUInt32LE(data.length, 24);
    ch.writeUInt16LE(nb.length, 28);
    ch.writeUInt32LE(off, 42);
    central.push(ch, nb);
    off += 30 + nb.length + data.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(files).length, 8);
  end.writeUInt16LE(Object.keys(files).length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(off, 16);
  return Buffer.concat([...locals, cd, end]);
}
