import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as wk from '../src';
import { LSTM } from '../src/nn/lstm';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wk-st-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function writeRaw(file: string, header: object | string, data: Uint8Array = new Uint8Array(0)): void {
  const h = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  fs.writeFileSync(file, Buffer.concat([len, h, Buffer.from(data)]));
}

describe('safetensors', () => {
  test('round trip of float32, int32 and uint8 tensors with metadata', () => {
    const f = path.join(tmp, 'a.safetensors');
    const t = {
      w: wk.randn([3, 5], { seed: 1 }),
      s: wk.tensor(2.5),
      i: wk.tensor(new Int32Array([1, -2, 3])),
      u: wk.tensor(new Uint8Array([0, 255, 7, 9]), [2, 2]),
      e: wk.zeros([0, 4]),
    };
    wk.saveSafetensors(f, t, { format: 'pt' });
    const bytes = fs.readFileSync(f);
    const n = Number(bytes.readBigUInt64LE(0));
    expect((8 + n) % 8).toBe(0);
    const back = wk.loadSafetensorsWithMetadata(f);
    expect(back.metadata).toEqual({ format: 'pt' });
    for (const k of Object.keys(t) as (keyof typeof t)[]) {
      expect(back.tensors[k].shape).toEqual(t[k].shape);
      expect(back.tensors[k].dtype).toBe(t[k].dtype);
      expect(Array.from(back.tensors[k].dataSync())).toEqual(Array.from(t[k].dataSync()));
    }
  });

  test('reads F16, BF16, F64, I64 and BOOL', () => {
    const f = path.join(tmp, 'b.safetensors');
    const data = new Uint8Array(2 * 3 + 2 * 2 + 8 + 8 + 2);
    const dv = new DataView(data.buffer);
    [0x3c00, 0xc000, 0x0001].forEach((h, i) => dv.setUint16(2 * i, h, true)); // 1, -2, 2^-24
    [0x3f80, 0x4049].forEach((h, i) => dv.setUint16(6 + 2 * i, h, true)); // 1, 3.140625
    dv.setFloat64(10, 0.1, true);
    dv.setBigInt64(18, -5n, true);
    data[26] = 1;
    data[27] = 0;
    writeRaw(f, {
      h: { dtype: 'F16', shape: [3], data_offsets: [0, 6] },
      b: { dtype: 'BF16', shape: [2], data_offsets: [6, 10] },
      d: { dtype: 'F64', shape: [1], data_offsets: [10, 18] },
      l: { dtype: 'I64', shape: [1], data_offsets: [18, 26] },
      o: { dtype: 'BOOL', shape: [2], data_offsets: [26, 28] },
    }, data);
    const t = wk.loadSafetensors(f);
    expect(Array.from(t.h.dataSync())).toEqual([1, -2, 2 ** -24]);
    expect(Array.from(t.b.dataSync())).toEqual([1, 3.140625]);
    expect(t.d.dataSync()[0]).toBeCloseTo(0.1, 7);
    expect(t.l.dtype).toBe('int32');
    expect(t.l.dataSync()[0]).toBe(-5);
    expect(Array.from(t.o.dataSync())).toEqual([1, 0]);
  });

  test('bad files give errors naming the file and the tensor', () => {
    const f = path.join(tmp, 'bad.safetensors');
    fs.writeFileSync(f, Buffer.from([1, 2, 3]));
    expect(() => wk.loadSafetensors(f)).toThrow(`loadSafetensors: ${f}: file is 3 bytes, too short`);
    writeRaw(f, '{"a": ');
    expect(() => wk.loadSafetensors(f)).toThrow(/bad.safetensors: header is not valid JSON/);
    const len = Buffer.alloc(16);
    len.writeBigUInt64LE(1000n);
    fs.writeFileSync(f, len);
    expect(() => wk.loadSafetensors(f)).toThrow(/header length 1000 does not fit in the file \(16 bytes\)/);
    writeRaw(f, { w: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 12] } }, new Uint8Array(16));
    expect(() => wk.loadSafetensors(f)).toThrow(/tensor 'w': data_offsets \[0, 12\] cover 12 bytes but F32 \[2,2\] needs 16/);
    writeRaw(f, { w: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } }, new Uint8Array(8));
    expect(() => wk.loadSafetensors(f)).toThrow(/tensor 'w': data_offsets end 16 is past the end of the data \(8 bytes\)/);
    writeRaw(f, { w: { dtype: 'C64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8));
    expect(() => wk.loadSafetensors(f)).toThrow(/tensor 'w': unsupported dtype "C64"/);
    writeRaw(f, { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, new Uint8Array(8));
    expect(() => wk.loadSafetensors(f)).toThrow(/tensors 'a' and 'b' overlap/);
    expect(() => wk.loadSafetensors(path.join(tmp, 'missing.safetensors'))).toThrow(/loadSafetensors: cannot read .*missing.safetensors/);
  });

  test('a module state dict round-trips; loadStateDict names a wrong key', () => {
    const f = path.join(tmp, 'lstm.safetensors');
    const a = new LSTM(3, 4, { numLayers: 2, seed: 1 });
    wk.saveSafetensors(f, a.stateDict());
    const b = new LSTM(3, 4, { numLayers: 2, seed: 2 });
    b.loadStateDict(wk.loadSafetensors(f));
    expect(Array.from(b.stateDict().weight_hh_l1.toFloat32Array())).toEqual(Array.from(a.stateDict().weight_hh_l1.toFloat32Array()));
    const c = new LSTM(3, 5, { numLayers: 2 });
    expect(() => c.loadStateDict(wk.loadSafetensors(f))).toThrow(/key 'weight_ih_l0' has shape \[16,3\], expected \[20,3\]/);
  });
});
