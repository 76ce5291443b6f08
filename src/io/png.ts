/**
 * PNG encoding and decoding.
 *
 * encodePNG: 8-bit RGB, RGBA or grayscale, HWC pixels, filter type chosen per row (the
 * minimum-sum-of-absolute-differences heuristic), one IDAT.
 * decodePNG: every PNG (gray, gray+alpha, RGB, RGBA, palette; 1-16 bits; interlaced or not),
 * decoded by pngjs after a structural check here, so a truncated or corrupt file throws an Error
 * that says what is wrong (callers prefix the file name).
 */
import * as zlib from 'zlib';
import { PNG } from 'pngjs';
import { checkInt, rangeError, typeError } from '../errors';

export interface Image {
  width: number;
  height: number;
  /** Channels of `data`: 1 (gray), 3 (RGB) or 4 (RGBA). */
  channels: number;
  /** HWC, row-major, 8 bits per sample. */
  data: Uint8Array;
}

const SIGNATURE = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; ++n) {
    let c = n;
    for (let k = 0; k < 8; ++k) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(buf: Uint8Array, start = 0, end = buf.length, crc = 0): number {
  let c = (crc ^ 0xffffffff) >>> 0;
  for (let i = start; i < end; ++i) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out, 4, 8 + data.length), 8 + data.length);
  return out;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Encodes HWC 8-bit pixels (channels 1, 3 or 4) as a PNG file. */
export function encodePNG(img: Image): Buffer {
  const { width, height, channels, data } = img;
  if (![1, 3, 4].includes(channels)) throw new RangeError(`encodePNG: channels must be 1, 3 or 4, got ${channels}`);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1)
    throw new RangeError(`encodePNG: width and height must be positive integers, got ${width}x${height}`);
  if (data.length !== width * height * channels)
    throw new RangeError(`encodePNG: data has ${data.length} bytes, expected ${width}x${height}x${channels} = ${width * height * channels}`);
  const stride = width * channels;
  const raw = Buffer.alloc((stride + 1) * height);
  const cand = new Uint8Array(stride);
  for (let y = 0; y < height; ++y) {
    const row = y * stride;
    let best = -1, bestSum = Infinity;
    for (let f = 0; f < 5; ++f) {
      let sum = 0;
      for (let i = 0; i < stride; ++i) {
        const x = data[row + i];
        const a = i >= channels ? data[row + i - channels] : 0;
        const b = y > 0 ? data[row - stride + i] : 0;
        const c = y > 0 && i >= channels ? data[row - stride + i - channels] : 0;
        const pred = f === 0 ? 0 : f === 1 ? a : f === 2 ? b : f === 3 ? (a + b) >> 1 : paeth(a, b, c);
        const v = (x - pred) & 0xff;
        cand[i] = v;
        sum += v < 128 ? v : 256 - v;
      }
      if (sum < bestSum) {
        bestSum = sum;
        best = f;
        raw[y * (stride + 1)] = f;
        raw.set(cand, y * (stride + 1) + 1);
      }
    }
    void best;
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = channels === 1 ? 0 : channels === 3 ? 2 : 6;
  return Buffer.concat([SIGNATURE, chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(raw, { level: 9 })), chunk('IEND', new Uint8Array(0))]);
}

/** Bytes of the filtered image data (every pass of an Adam7 image) that the header implies. */
function rawSize(width: number, height: number, bitsPerPixel: number, interlace: number): number {
  const rowBytes = (w: number): number => Math.ceil((w * bitsPerPixel) / 8) + 1;
  if (interlace === 0) return rowBytes(width) * height;
  // Adam7: pass p starts at (x0, y0) and steps (dx, dy)
  const passes = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]];
  let total = 0;
  for (const [x0, y0, dx, dy] of passes) {
    const pw = Math.ceil((width - x0) / dx), ph = Math.ceil((height - y0) / dy);
    if (pw > 0 && ph > 0) total += rowBytes(pw) * ph;
  }
  return total;
}

/**
 * Decodes a PNG file to HWC 8-bit pixels (gray → 1 channel, RGB → 3, gray+alpha and RGBA → 4,
 * palette → 3, or 4 with a tRNS chunk): every bit depth (1-16; 16-bit samples are scaled to 8
 * bits), interlaced or not. The chunk structure is checked here first (signature, chunk lengths,
 * CRCs, IHDR, IEND, and that the image data inflates to exactly the size the header implies, no
 * further), so a bad file throws an Error saying what is wrong (callers prefix the file name);
 * the pixels are then decoded by pngjs.
 */
export function decodePNG(buf: Uint8Array): Image {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < 8 || !b.subarray(0, 8).equals(SIGNATURE)) throw new Error('not a PNG file (bad signature)');
  let pos = 8;
  let width = 0, height = 0, depth = 0, colorType = -1, interlace = 0;
  let palette = false, trns = false;
  const idat: Buffer[] = [];
  let sawEnd = false;
  while (pos < b.length) {
    if (pos + 12 > b.length) throw new Error(`truncated PNG: chunk header at byte ${pos} is cut off`);
    const len = b.readUInt32BE(pos);
    const type = b.toString('latin1', pos + 4, pos + 8);
    if (pos + 12 + len > b.length) throw new Error(`truncated PNG: chunk ${type} at byte ${pos} needs ${len} bytes, file ends early`);
    const body = b.subarray(pos + 8, pos + 8 + len);
    const crc = b.readUInt32BE(pos + 8 + len);
    if (crc32(b, pos + 4, pos + 8 + len) !== crc) throw new Error(`corrupt PNG: CRC mismatch in chunk ${type} at byte ${pos}`);
    pos += 12 + len;
    if (type === 'IHDR') {
      if (len !== 13) throw new Error('corrupt PNG: IHDR must be 13 bytes');
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      depth = body[8];
      colorType = body[9];
      interlace = body[12];
    } else if (type === 'PLTE') palette = true;
    else if (type === 'tRNS') trns = true;
    else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') {
      sawEnd = true;
      break;
    }
  }
  if (colorType < 0) throw new Error('corrupt PNG: no IHDR chunk');
  if (!sawEnd) throw new Error('truncated PNG: no IEND chunk');
  const samples: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
  const spp = samples[colorType];
  if (spp === undefined) throw new Error(`corrupt PNG: unknown color type ${colorType}`);
  const depths: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };
  if (!depths[colorType].includes(depth)) throw new Error(`corrupt PNG: bit depth ${depth} is not allowed for color type ${colorType} (allowed: ${depths[colorType].join(', ')})`);
  if (interlace !== 0 && interlace !== 1) throw new Error(`corrupt PNG: unknown interlace method ${interlace}`);
  if (colorType === 3 && !palette) throw new Error('corrupt PNG: palette image without PLTE');
  if (width < 1 || height < 1 || width * height > 1 << 28) throw new Error(`corrupt PNG: bad size ${width}x${height}`);
  // No further than the size the header implies: a small IDAT must not inflate to gigabytes.
  const expected = rawSize(width, height, spp * depth, interlace);
  let raw: Buffer;
  try {
    raw = zlib.inflateSync(Buffer.concat(idat), { maxOutputLength: expected });
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw new Error(`corrupt PNG: image data inflates to more than the ${expected} bytes a ${width}x${height} image holds`);
    throw new Error(`corrupt PNG: image data does not inflate (${(e as Error).message})`);
  }
  if (raw.length < expected) throw new Error(`truncated PNG: image data has ${raw.length} bytes, expected ${expected}`);
  let rgba: Uint8Array;
  try {
    rgba = PNG.sync.read(b).data; // RGBA, 8 bits per sample
  } catch (e) {
    throw new Error(`corrupt PNG: ${(e as Error).message}`);
  }
  const n = width * height;
  if (rgba.length !== n * 4) throw new Error(`corrupt PNG: decoded ${rgba.length} bytes, expected ${n * 4}`);
  const ch = colorType === 0 ? 1 : colorType === 2 || (colorType === 3 && !trns) ? 3 : 4;
  if (ch === 4) return { width, height, channels: 4, data: new Uint8Array(rgba.buffer, rgba.byteOffset, rgba.length) };
  const out = new Uint8Array(n * ch);
  for (let i = 0; i < n; ++i) for (let k = 0; k < ch; ++k) out[ch * i + k] = rgba[4 * i + k];
  return { width, height, channels: ch, data: out };
}

/** Converts any decoded image to 3-channel RGB (alpha dropped, gray replicated). */
export function toRGB(img: Image): Uint8Array {
  if (img.channels === 3) return img.data;
  const n = img.width * img.height;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; ++i) {
    if (img.channels === 1) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = img.data[i];
    else {
      out[3 * i] = img.data[img.channels * i];
      out[3 * i + 1] = img.data[img.channels * i + 1];
      out[3 * i + 2] = img.data[img.channels * i + 2];
    }
  }
  return out;
}

/**
 * A contact sheet: rows of frames (each HWC, frameH x frameW x channels; channels 3 (RGB, the
 * default), 1 (gray: a gray sheet) or 4) tiled with a `gap`-pixel border. `rows[r][c]` is the frame at row r, column c; missing frames (undefined or null
 * entries, holes, shorter rows, a missing row) are left dark, so a grid with gaps (a rollout
 * that ended early, a sequence without reconstructions) needs no placeholder frames.
 */
export function contactSheet(rows: (readonly (Uint8Array | null | undefined)[] | null | undefined)[], frameH: number, frameW: number, gap = 2, scale = 1, channels = 3): Image {
  const fn = 'contactSheet';
  if (!Array.isArray(rows)) throw typeError(fn, 'rows', 'an array of rows (arrays of uint8 HWC frames)', rows);
  checkInt(fn, 'frameH', frameH, 1);
  checkInt(fn, 'frameW', frameW, 1);
  checkInt(fn, 'gap', gap, 0);
  checkInt(fn, 'scale', scale, 1);
  if (channels !== 1 && channels !== 3 && channels !== 4) throw typeError(fn, 'channels', '1, 3 or 4', channels);
  const ch = channels;
  const cells: (readonly (Uint8Array | null | undefined)[])[] = [];
  for (let r = 0; r < rows.length; ++r) {
    const row = rows[r];
    if (row === undefined || row === null) cells.push([]);
    else if (Array.isArray(row)) cells.push(row);
    else throw typeError(fn, `rows[${r}]`, 'an array of frames (or undefined/null for an empty row)', row);
  }
  const nRows = cells.length;
  const nCols = Math.max(1, ...cells.map((r) => r.length));
  const fh = frameH * scale, fw = frameW * scale;
  const width = nCols * fw + (nCols + 1) * gap;
  const height = nRows * fh + (nRows + 1) * gap;
  const bytes = frameH * frameW * ch;
  // Every frame is checked before the sheet is allocated: a bad one is an error naming its cell.
  for (let r = 0; r < nRows; ++r)
    for (let c = 0; c < cells[r].length; ++c) {
      const f = cells[r][c];
      if (f === undefined || f === null) continue;
      if (!(f instanceof Uint8Array))
        throw typeError(fn, `rows[${r}][${c}] (row ${r}, column ${c})`, `a Uint8Array of ${frameH}x${frameW}x${ch} = ${bytes} bytes, or undefined/null for a missing frame`, f);
      if (f.length !== bytes)
        throw rangeError(fn, `rows[${r}][${c}] (row ${r}, column ${c}) must be an HWC frame of ${frameH}x${frameW}x${ch} = ${bytes} bytes, got ${f.length} bytes`);
    }
  const data = new Uint8Array(width * height * ch).fill(24);
  for (let r = 0; r < nRows; ++r) {
    for (let c = 0; c < cells[r].length; ++c) {
      const f = cells[r][c];
      if (f === undefined || f === null) continue; // left dark
      const ox = gap + c * (fw + gap), oy = gap + r * (fh + gap);
      for (let y = 0; y < fh; ++y) {
        const sy = Math.floor(y / scale);
        for (let x = 0; x < fw; ++x) {
          const sx = Math.floor(x / scale);
          const src = (sy * frameW + sx) * ch, dst = ((oy + y) * width + ox + x) * ch;
          for (let k = 0; k < ch; ++k) data[dst + k] = f[src + k];
        }
      }
    }
  }
  return { width, height, channels: ch, data };
}
