/** The examples in examples/ run here so they never rot. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { main as customLoop } from '../examples/custom_loop';
import { main as rolloutFromCheckpoint } from '../examples/rollout_from_checkpoint';
import { main as readMetrics } from '../examples/read_metrics';

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
