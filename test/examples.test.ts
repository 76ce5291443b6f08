/** The examples in examples/ run here so they never rot. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { main as customLoop } from '../examples/custom_loop';
import { main as rolloutFromCheckpoint } from '../examples/rollout_from_checkpoint';
import { main as readMetrics } from '../examples/read_metrics';
import { main as movingMnist } from '../examples/moving_mnist';

test('examples: custom loop -> rollout from its checkpoints -> read the metrics log', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wk-examples-'));
  const log = jest.spyOn(console, 'log').mockImplementation(() => {});
  try {
    const r = await customLoop(dir);
    expect(r.last).toBeLessThan(r.first);
    const ro = rolloutFromCheckpoint(r.vaeDir, r.predictorDir, path.join(dir, 'film.png'));
    expect(Number.isFinite(ro.latentMse)).toBe(true);
    expect(fs.existsSync(ro.out)).toBe(true);
    const m = readMetrics(path.join(r.vaeDir, 'metrics.jsonl'));
    expect(m.epochs).toBe(1);
    expect(m.batches).toBeGreaterThan(0);
    expect(fs.existsSync(m.chart)).toBe(true);
  } finally {
    log.mockRestore();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('examples: Moving MNIST 10 -> 10 within a budget (fast mode: tiny data and models, 0.1 min)', async () => {
  const lines: string[] = [];
  const r = await movingMnist({ fast: true, budgetMinutes: 0.1, log: (l) => lines.push(l) });
  expect(r.testSequences).toBe(4);
  expect(r.rows.map((x) => x.name)).toEqual(['world model (VAE + LSTM)', 'copy last frame', 'VAE reconstruction (ceiling)']);
  for (const row of r.rows) for (const v of [row.mse, row.mae, row.ssim, row.psnr]) expect(Number.isFinite(v)).toBe(true);
  expect(r.msePerStep).toHaveLength(10);
  // both trainers ran on a budget and reported it
  expect(r.vae.steps).toBe(r.vae.plannedSteps);
  expect(r.predictor.steps).toBe(r.predictor.plannedSteps);
  expect(lines.join('\n')).toContain('| | MSE / frame | MAE / frame | SSIM | PSNR (dB) |');
  expect(r.table).toMatch(/\| copy last frame \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \|/);
});
