import * as zlib from 'zlib';
import { encodePNG, decodePNG, crc32, contactSheet } from '../src/io/png';
import { resizeFrames } from '../src/data/episode';

function rand(n: number, seed: number) {
  const a = new Uint8Array(n);
  let s = seed;
  for (let i = 0; i < n; ++i) {
    s = (s * 1103515245 + 12345) >>> 0;
    a[i] = s >>> 24;
  }
  return a;
}

function chunk(type: string, data: Buffer) {
  const b = Buffer.alloc(12 + data.length);
  b.writeUInt32BE(data.length, 0);
  b.write(type, 4, 'latin1');
  data.copy(b, 8);
  b.writeUInt32BE(crc32(b, 4, 8 + data.length), 8 + data.length);
  return b;
}

describe('PNG', () => {
  test('round trip RGB, RGBA, gray at odd sizes', () => {
    for (const [w, h, c] of [[1, 1, 3], [7, 3, 4], [67, 13, 1], [64, 64, 3]]) {
      const data = rand(w * h * c, w * 31 + c);
      // smooth part to exercise every filter
      for (let i = 0; i < data.length / 2; ++i) data[i] = (i * 3) & 255;
      const img = decodePNG(encodePNG({ width: w, height: h, channels: c, data }));
      expect([img.width, img.height, img.channels]).toEqual([w, h, c]);
      expect(Buffer.from(img.data).equals(Buffer.from(data))).toBe(true);
    }
  });

  test('decodes palette and gray+alpha images written by hand', () => {
    const sig = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(2, 0);
    ihdr.writeUInt32BE(1, 4);
    ihdr[8] = 8;
    ihdr[9] = 3;
    const raw = Buffer.from([0, 1, 0]);
    const png = Buffer.concat([sig, chunk('IHDR', ihdr), chunk('PLTE', Buffer.from([10, 20, 30, 40, 50, 60])), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
    const img = decodePNG(png);
    expect(Array.from(img.data)).toEqual([40, 50, 60, 10, 20, 30]);
    ihdr[9] = 4;
    const ga = Buffer.concat([sig, chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(Buffer.from([0, 9, 200, 8, 100]))), chunk('IEND', Buffer.alloc(0))]);
    expect(Array.from(decodePNG(ga).data)).toEqual([9, 9, 9, 200, 8, 8, 8, 100]);
  });

  function pngFile(w: number, h: number, depth: number, colorType: number, interlace: number, raw: Buffer, extra: Buffer[] = []): Buffer {
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(w, 0);
    ihdr.writeUInt32BE(h, 4);
    ihdr[8] = depth;
    ihdr[9] = colorType;
    ihdr[12] = interlace;
    const sig = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);
    return Buffer.concat([sig, chunk('IHDR', ihdr), ...extra, chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
  }

  test('16-bit, interlaced (Adam7), low-depth palette and gray+alpha images load (issue 16)', () => {
    // 16-bit RGB, 2x1: samples scale to 8 bits (0xffff -> 255, 0x8080 -> 128, 0 -> 0)
    const rgb16 = pngFile(2, 1, 16, 2, 0, Buffer.from([0, 0xff, 0xff, 0x80, 0x80, 0, 0, 0, 0, 0x80, 0x80, 0xff, 0xff]));
    const a = decodePNG(rgb16);
    expect([a.width, a.height, a.channels]).toEqual([2, 1, 3]);
    expect(Array.from(a.data)).toEqual([255, 128, 0, 0, 128, 255]);
    // 16-bit gray+alpha, 1x1 -> 4 channels
    const ga16 = pngFile(1, 1, 16, 4, 0, Buffer.from([0, 0x40, 0x40, 0xff, 0xff]));
    expect(Array.from(decodePNG(ga16).data)).toEqual([64, 64, 64, 255]);
    // 4-bit palette with tRNS, 3x1: indices 2, 0, 1 -> RGBA
    const pal = pngFile(3, 1, 4, 3, 0, Buffer.from([0, 0x20, 0x10]), [chunk('PLTE', Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9])), chunk('tRNS', Buffer.from([255, 128]))]);
    const p = decodePNG(pal);
    expect(p.channels).toBe(4);
    expect(Array.from(p.data)).toEqual([7, 8, 9, 255, 1, 2, 3, 255, 4, 5, 6, 128]);
    // interlaced 8-bit gray, 5x5: the seven Adam7 passes written by hand
    const w = 5, h = 5;
    const gray = rand(w * h, 3);
    const passes = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]];
    const rows: number[] = [];
    for (const [x0, y0, dx, dy] of passes) {
      for (let y = y0; y < h; y += dy) {
        const row: number[] = [];
        for (let x = x0; x < w; x += dx) row.push(gray[y * w + x]);
        if (row.length) rows.push(0, ...row);
      }
    }
    const inter = decodePNG(pngFile(w, h, 8, 0, 1, Buffer.from(rows)));
    expect([inter.width, inter.height, inter.channels]).toEqual([5, 5, 1]);
    expect(Array.from(inter.data)).toEqual(Array.from(gray));
    // ...and interlaced RGBA through the same path
    const rgba = rand(w * h * 4, 4);
    const rows4: number[] = [];
    for (const [x0, y0, dx, dy] of passes)
      for (let y = y0; y < h; y += dy) {
        const row: number[] = [];
        for (let x = x0; x < w; x += dx) row.push(...rgba.subarray((y * w + x) * 4, (y * w + x) * 4 + 4));
        if (row.length) rows4.push(0, ...row);
      }
    expect(Array.from(decodePNG(pngFile(w, h, 8, 6, 1, Buffer.from(rows4))).data)).toEqual(Array.from(rgba));
  });

  test('corrupt, truncated and unsupported files give clear errors', () => {
    const good = encodePNG({ width: 5, height: 4, channels: 3, data: rand(60, 1) });
    expect(() => decodePNG(good.subarray(0, good.length - 20))).toThrow(/truncated PNG/);
    const bad = Buffer.from(good);
    bad[30] ^= 0x55;
    expect(() => decodePNG(bad)).toThrow(/CRC mismatch/);
    expect(() => decodePNG(Buffer.from('hello world'))).toThrow(/not a PNG/);
    const ihdrAt = 8;
    const deep = Buffer.from(good);
    deep[ihdrAt + 8 + 8] = 16; // header says 16-bit, data holds 8-bit rows
    deep.writeUInt32BE(crc32(deep, ihdrAt + 4, ihdrAt + 8 + 13), ihdrAt + 8 + 13);
    expect(() => decodePNG(deep)).toThrow(/truncated PNG: image data has 64 bytes, expected 124/);
    const odd = Buffer.from(good);
    odd[ihdrAt + 8 + 8] = 5;
    odd.writeUInt32BE(crc32(odd, ihdrAt + 4, ihdrAt + 8 + 13), ihdrAt + 8 + 13);
    expect(() => decodePNG(odd)).toThrow(/corrupt PNG: bit depth 5 is not allowed for color type 2/);
    expect(() => encodePNG({ width: 2, height: 2, channels: 3, data: new Uint8Array(5) })).toThrow(/encodePNG: data has 5 bytes/);
  });

  test('contactSheet: missing frames (undefined, null, holes, a missing row) are left dark', () => {
    const f = new Uint8Array(2 * 2 * 3).fill(200);
    const gap = 1;
    // 3 rows x 3 columns: row 0 [f, undefined, f], row 1 missing, row 2 [null, f] + a hole
    const row2: (Uint8Array | null | undefined)[] = [null, f];
    row2.length = 3;
    const s = contactSheet([[f, undefined, f], undefined, row2], 2, 2, gap, 1);
    expect([s.width, s.height]).toEqual([3 * 2 + 4 * gap, 3 * 2 + 4 * gap]);
    const px = (r: number, c: number) => s.data[((gap + r * (2 + gap)) * s.width + gap + c * (2 + gap)) * 3];
    expect([px(0, 0), px(0, 1), px(0, 2)]).toEqual([200, 24, 200]);
    expect([px(1, 0), px(1, 1), px(1, 2)]).toEqual([24, 24, 24]);
    expect([px(2, 0), px(2, 1), px(2, 2)]).toEqual([24, 200, 24]);
    // an all-missing grid is still a (dark) sheet
    expect(contactSheet([[undefined]], 2, 2, 1, 1).data.every((v) => v === 24)).toBe(true);
  });

  test('contactSheet: a bad entry is an error naming contactSheet and its row/column', () => {
    const f = new Uint8Array(2 * 2 * 3);
    expect(() => contactSheet([[f], [f, new Uint8Array(5)]], 2, 2)).toThrow(RangeError);
    expect(() => contactSheet([[f], [f, new Uint8Array(5)]], 2, 2)).toThrow(/contactSheet: rows\[1\]\[1\] \(row 1, column 1\) must be an HWC frame of 2x2x3 = 12 bytes, got 5 bytes/);
    expect(() => contactSheet([[f, 'x' as unknown as Uint8Array]], 2, 2)).toThrow(TypeError);
    expect(() => contactSheet([[f, 'x' as unknown as Uint8Array]], 2, 2)).toThrow(/contactSheet: rows\[0\]\[1\] \(row 0, column 1\) must be a Uint8Array of 2x2x3 = 12 bytes.*got string "x"/);
    expect(() => contactSheet([f as unknown as Uint8Array[]], 2, 2)).toThrow(/contactSheet: rows\[0\] must be an array of frames/);
    expect(() => contactSheet(null as unknown as Uint8Array[][], 2, 2)).toThrow(/contactSheet: rows must be an array/);
    expect(() => contactSheet([[f]], 2, 2, 2, 0)).toThrow(/contactSheet: scale must be an integer in \[1,/);
  });

  test('contact sheet and resizing', () => {
    const f = new Uint8Array(4 * 4 * 3).fill(200);
    const s = contactSheet([[f, f], [f]], 4, 4, 1, 2);
    expect([s.width, s.height]).toEqual([2 * 8 + 3, 2 * 8 + 3]);
    expect(s.data[(1 * s.width + 1) * 3]).toBe(200);
    // area downscale of a 2x2 checker averages, bilinear upscale keeps constants
    const checker = new Uint8Array([0, 0, 0, 255, 255, 255, 255, 255, 255, 0, 0, 0]);
    expect(Array.from(resizeFrames(checker, 1, 2, 2, 1, 1))).toEqual([128, 128, 128]);
    const up = resizeFrames(new Uint8Array(2 * 3 * 3).fill(77), 1, 2, 3, 5, 7);
    expect(up.length).toBe(5 * 7 * 3);
    expect(up.every((v) => v === 77)).toBe(true);
  });
});
