/**
 * Issue 18, item 2: gray (and any channel count) frames natively, from data through models,
 * training, rollouts, evaluation, filmstrips and batching.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { movingMnistEpisodes } from '../src/data/moving_mnist';
import { createVAE, trainVAE } from '../src/train/train_vae';
import { createPredictor, trainPredictor } from '../src/train/train_predictor';
import { openLoopRollout, saveFilmstrip, framesToImages } from '../src/rollout/index';
import { evaluateRollouts, evaluateVAE } from '../src/diagnostics/evaluate';
import { decodePNG, contactSheet } from '../src/io/png';
import { SequenceDataset } from '../src/data/sequence_dataset';
import { trainSemanticProbe } from '../src/diagnostics/semantic_probe';
import type { Episode } from '../src/data/episode';
import { readEpisodes, writeEpisodes } from '../src/data/episode_cache';

const eps = movingMnistEpisodes({ count: 8, frames: 12, seed: 4 });
const grayVAE = () => createVAE({ inputShape: [1, 64, 64], encoderChannels: [4, 8, 8, 16], latentShape: [4, 4, 4], reconLoss: 'bce', seed: 2 });

test('gray Moving MNIST end to end: [1,64,64] VAE, predictor, batched rollout, evaluation, a gray filmstrip', async () => {
  expect(eps[0].channels).toBe(1);
  const vae = grayVAE();
  const rv = await trainVAE(vae, eps, { epochs: 1, batchSize: 8, maxBatchesPerEpoch: 4, seed: 1, collapseCheck: { every: 1, warmup: 1, patience: 100 } });
  expect(Number.isFinite(rv.history[0].loss)).toBe(true);
  const p = createPredictor(vae, { hiddenSize: 8, data: eps });
  const rp = await trainPredictor(p, vae, eps, { epochs: 1, batchSize: 4, seqLen: 8, seed: 1, burnIn: 4, scheduledSampling: true });
  expect(Number.isFinite(rp.history[0].loss)).toBe(true);
  const per = 64 * 64;
  const ro = openLoopRollout(p, vae, { frames: eps[0].frames, context: 5, horizon: 4 });
  expect(ro.predFrames.length).toBe(4 * per);
  expect(ro.predImages.length).toBe(4 * per);
  expect(ro.realFrames!.length).toBe(4 * per);
  const two = new Uint8Array(2 * 12 * per);
  two.set(eps[0].frames, 0);
  two.set(eps[1].frames, 12 * per);
  const rb = openLoopRollout(p, vae, { frames: two, context: 5, horizon: 4, batch: 2 });
  expect(Buffer.from(rb.predFrames.subarray(0, 4 * per)).equals(Buffer.from(ro.predFrames))).toBe(true);
  const ev = evaluateRollouts(p, vae, eps, { context: 5, horizon: 4, maxWindows: 8 });
  expect(ev.channels).toBe(1);
  expect(ev.windows).toBe(8);
  for (const k of ['frameMseVsReal', 'baselineFrameMseVsReal', 'reconFrameMseVsReal', 'psnrVsReal', 'ssimVsReal'] as const) expect(ev[k]!.every(Number.isFinite)).toBe(true);
  // the per-frame MSE of a 64x64 gray frame is 4,096 times the MSE per pixel
  expect(ev.frameMseVsReal![0] / 4096).toBeCloseTo(ev.pixelMseVsReal[0], 8);
  const rec = evaluateVAE(vae, eps, { maxFrames: 16 });
  expect(rec.frameMse! / 4096).toBeCloseTo(rec.mse, 8);
  expect(rec.perClass?.length).toBe(2); // the digit heads
  // the semantic probe takes its channels from the data, and reads gray rollouts
  const probe = (await trainSemanticProbe(eps.slice(0, 6), { heldOut: eps.slice(6), epochs: 1, probe: { channels: [4, 8, 8, 8], hidden: 8 } })).probe;
  expect(probe.inputShape).toEqual([1, 64, 64]);
  const sem = evaluateRollouts(p, vae, eps, { context: 5, horizon: 4, maxWindows: 4, probe }).semantic!;
  expect(sem.overall.retention).toHaveLength(4);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wk-gray-'));
  try {
    const f = path.join(dir, 'strip.png');
    saveFilmstrip(f, [ro.realFrames!, ro.reconFrames!, ro.predFrames], { frames: 4, channels: 1 });
    const img = decodePNG(fs.readFileSync(f));
    expect(img.channels).toBe(1);
    expect([img.width, img.height]).toEqual([4 * 64 + 5 * 2, 3 * 64 + 4 * 2]);
    // the first frame sits at (2, 2), byte for byte
    for (let y = 0; y < 64; y += 7) for (let x = 0; x < 64; x += 5) expect(img.data[(2 + y) * img.width + 2 + x]).toBe(ro.realFrames![y * 64 + x]);
    // gray episodes round-trip through the episode file format (its header records the channels)
    const file = path.join(dir, 'gray.wkep');
    writeEpisodes(file, eps.slice(0, 2));
    const back = readEpisodes(file).episodes;
    expect(back[1].channels).toBe(1);
    expect(Buffer.from(back[1].frames).equals(Buffer.from(eps[1].frames))).toBe(true);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a mismatch between the frames and the VAE is a clear error; any channel count works; batching and images follow the channels', async () => {
  const rgb = createVAE({ encoderChannels: [4, 8, 8, 16], latentShape: [4, 4, 4], seed: 2 });
  await expect(trainVAE(rgb, eps, { epochs: 1 })).rejects.toThrow(/trainVAE: the episodes' frames are 64x64 with 1 channel \(\[64,64,1\]\), but the VAE takes inputShape \[3, 64, 64\] \(build the VAE with createVAE\(\{ inputShape: \[1, 64, 64\] \}\) for these gray frames\)/);
  const p = createPredictor(rgb, { hiddenSize: 8, data: eps });
  await expect(trainPredictor(p, rgb, eps, { epochs: 1 })).rejects.toThrow(/trainPredictor: the episodes' frames are 64x64 with 1 channel/);
  expect(() => evaluateVAE(rgb, eps)).toThrow(/evaluateVAE: the episodes' frames are 64x64 with 1 channel/);
  // two channels
  const two: Episode[] = Array.from({ length: 3 }, (_, i) => {
    const frames = new Uint8Array(6 * 64 * 64 * 2);
    for (let k = 0; k < frames.length; k += 13) frames[k] = (k + i * 31) & 255;
    return { length: 6, height: 64, width: 64, channels: 2, frames, actionDim: 0, actions: new Float32Array(0), labelDim: 0 };
  });
  const v2 = createVAE({ inputShape: [2, 64, 64], encoderChannels: [4, 8, 8, 16], latentShape: [4, 4, 4], seed: 2 });
  const r = await trainVAE(v2, two, { epochs: 1, batchSize: 6, seed: 1 });
  expect(Number.isFinite(r.history[0].loss)).toBe(true);
  await expect(trainVAE(v2, [two[0], { ...two[1], channels: 3, frames: new Uint8Array(6 * 64 * 64 * 3) }], { epochs: 1 })).rejects.toThrow(/trainVAE: dataset episode 1: frames 64x64x3 with 0 action values, but episode 0 has 64x64x2/);
  await expect(trainVAE(v2, [{ ...two[0], frames: two[0].frames.subarray(1) }], { epochs: 1 })).rejects.toThrow(/frames must have length x height x width x channels = 6x64x64x2 = 49152 bytes, got 49151/);
  // images: channel planes from HWC
  const hwc = new Uint8Array([10, 20, 30, 40]); // 1x2 pixels x 2 channels
  expect(Array.from(framesToImages(hwc, 1, 1, 2, 2)).map((v) => Math.round(v * 255))).toEqual([10, 30, 20, 40]);
  // SequenceDataset batches gray frames as [B,T,1,H,W]
  const ds = new SequenceDataset(eps, { seqLen: 4, batchSize: 2, seed: 1 });
  expect(ds.shapes().frames).toEqual([2, 4, 1, 64, 64]);
  const b = ds.assemble([{ episode: 0, start: 3 }]);
  expect(Buffer.from(b.frames!).equals(Buffer.from(eps[0].frames.subarray(3 * 4096, 7 * 4096)))).toBe(true);
  // a gray contact sheet
  const sheet = contactSheet([[eps[0].frames.subarray(0, 4096), undefined]], 64, 64, 2, 1, 1);
  expect(sheet.channels).toBe(1);
  expect(sheet.data.length).toBe(sheet.width * sheet.height);
  expect(() => contactSheet([[eps[0].frames.subarray(0, 4096)]], 64, 64, 2, 1, 3)).toThrow(/contactSheet: rows\[0\]\[0\] \(row 0, column 0\) must be an HWC frame of 64x64x3 = 12288 bytes, got 4096 bytes/);
});
