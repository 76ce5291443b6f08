/**
 * `worldkit bench --quick` (issue 8): runs a small filter set in-process (one iteration per case)
 * so the harness, the probes, the suites and the PyTorch peer plumbing never rot. Numbers are
 * printed, never asserted.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseArgs, runBench, normalize } from '../bench/run';
import { measure, quantile } from '../bench/harness';
import { lstmBench } from '../bench/lstm.bench';
import { native } from '../src/backend/native';

describe('worldkit bench --quick', () => {
  test('parses its flags and rejects unknown ones', () => {
    const a = parseArgs(['--filter', 'lstm,adam', '--json=x.json', '--threads', '2', '--quick', '--device', 'cpu']);
    expect(a).toMatchObject({ filter: ['lstm', 'adam'], json: 'x.json', threads: 2, quick: true, device: 'cpu', peers: true });
    expect(() => parseArgs(['--filter', 'nope'])).toThrow(/no suite named nope/);
    expect(() => parseArgs(['--threads', '0'])).toThrow(/--threads/);
    expect(() => parseArgs(['--device', 'tpu'])).toThrow(/--device/);
    expect(() => parseArgs(['--frobnicate'])).toThrow(/unknown flag/);
  });

  test('timer statistics', () => {
    expect(quantile([1, 2, 3, 4, 5], 0.5)).toBe(3);
    expect(quantile([1, 2, 3, 4, 5], 0.1)).toBeCloseTo(1.4);
    const t = measure('noop', () => undefined, { quick: true });
    expect(t.samples).toBe(1);
    expect(normalize('lstm', { name: 'x', B: 4, H: 256, ms: 2, latentStepsPerSec: 30000, torch: [{ variant: 'v', ms: 4, ratio: 2 }] })).toMatchObject({
      suite: 'lstm',
      op: 'x',
      shape: 'B=4 H=256',
      ms: 2,
      peers: [{ peer: 'PyTorch v', ms: 4, ratio: 2 }],
    });
    expect(normalize('lstm', { name: 'x', B: 4, H: 256, ms: 2, p10: 1.5, p90: 3, latentStepsPerSec: 30000 })).toMatchObject({ ms: 2, p10: 1.5, p90: 3 });
  });

  test('the lstm suite reports the median call time with its spread (as the peers report medians)', () => {
    const rows = lstmBench({ quick: true, torch: false, log: () => undefined });
    expect(rows.map((r) => r.name)).toContain('rollout 16 steps');
    for (const r of rows) {
      expect(r.ms).toBeGreaterThan(0);
      expect(r.p10).toBeLessThanOrEqual(r.ms);
      expect(r.p90).toBeGreaterThanOrEqual(r.ms);
    }
  });

  test('runs probes, kernels, losses and Adam with peers and writes --json', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wk-bench-'));
    const json = path.join(dir, 'out.json');
    const lines: string[] = [];
    const res = await runBench(parseArgs(['--quick', '--filter', 'lstm-kernels,losses,adam', '--json', json]), (s) => lines.push(s));
    const saved = JSON.parse(fs.readFileSync(json, 'utf8'));
    fs.rmSync(dir, { recursive: true, force: true });
    console.log(lines.join('\n'));
    expect(res.rows.length).toBeGreaterThan(10);
    for (const r of res.rows) expect(r.ms).toBeGreaterThan(0);
    if (typeof native.benchPeakFlops === 'function') {
      expect(res.peak?.gflops).toBeGreaterThan(0);
      expect(res.peak?.gbps).toBeGreaterThan(0);
    } else {
      console.log('this addon build predates binding/bench_binding.cc: no peak probes (rebuild it)');
    }
    expect(saved.rows.length).toBe(res.rows.length);
    expect(saved.header.machine).toBeTruthy();
  });
});
