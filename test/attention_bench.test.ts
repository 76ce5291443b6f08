/**
 * The attention bench suite (bench/attention.bench.ts) runs through `worldkit bench --quick
 * --filter attention`: fused and plain-reference rows at the predictor's shapes with their FLOP
 * counts, and the PyTorch peer either timed or reported as skipped (never silently absent).
 */
import { parseArgs, runBench } from '../bench/run';
import { torchVersion } from '../bench/harness';
import { visiblePairs } from '../bench/attention.bench';

describe('attention bench suite', () => {
  test('visible pairs of block-causal attention', () => {
    expect(visiblePairs(4, 4, 1)).toBe(1 + 2 + 3 + 4);
    expect(visiblePairs(4, 4, 2)).toBe(2 + 2 + 4 + 4);
    expect(visiblePairs(2, 6, 3)).toBe(6 + 6); // decoding: the last frame sees everything
    expect(visiblePairs(272, 272, 17)).toBe(17 * 17 * (16 * 17) / 2);
  });

  test('--quick --filter attention gives the fused and reference rows, and the peer or a skip note', async () => {
    const lines: string[] = [];
    const res = await runBench(parseArgs(['--quick', '--filter', 'attention']), (s) => lines.push(s));
    const rows = res.rows.filter((r) => r.suite === 'attention');
    expect(rows.map((r) => r.op)).toEqual([
      'causalAttention forward, fused',
      'causalAttention forward, plain reference',
      'causalAttention forward+backward, fused',
      'causalAttention forward+backward, plain reference',
      'causalAttention forward (KV-cache decode step), fused',
    ]);
    for (const r of rows) {
      expect(r.ms).toBeGreaterThan(0);
      expect(r.flops).toBeGreaterThan(0);
      expect(r.shape).toMatch(/^B=16 nH=4 Tq=(272|17) Tk=272 dh=32 frame=17$/);
    }
    if (torchVersion()) for (const r of rows) expect(r.peers?.length ?? 0).toBeGreaterThan(0);
    else {
      expect(lines.join('\n')).toMatch(/torch_attention\.py skipped: torch not installed/);
      for (const r of rows) expect(r.note).toBe('PyTorch peer skipped: torch not installed');
    }
  });
});
