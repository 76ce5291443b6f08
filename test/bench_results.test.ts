/**
 * bench/results/*.json (recorded runs) and bench/README.md's goal table: every file parses and
 * has the fields of `worldkit bench --json` (BenchResult in bench/run.ts), and every ratio and
 * verdict in the README's goal table equals the one in the results file it names, so the two
 * cannot drift. No timing.
 */
import * as fs from 'fs';
import * as path from 'path';

const root = path.join(__dirname, '..');
const dir = path.join(root, 'bench', 'results');
const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort() : [];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
const load = (f: string): Json => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const numOrNull = (v: unknown) => v === null || isNum(v);
const VERDICTS = ['met', 'missed', 'unverified', 'not measured'];
const TRUST = ['trusted', 'handicapped', 'uncalibrated'];

describe('bench/results', () => {
  test('there are results files', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  test.each(files)('%s: parses, with the fields of --json', (f) => {
    const d = load(f);
    // --json writes these; a hand-transcribed file says so and where its figures come from.
    for (const k of ['header', 'peak', 'calibrations', 'rows', 'goals']) expect(d).toHaveProperty(k);
    if (d.transcribed !== undefined) {
      expect(d.transcribed).toBe(true);
      expect(typeof d.source).toBe('string');
      expect(typeof d.command).toBe('string');
      expect(typeof d.conditions).toBe('string');
    }
    const h = d.header;
    for (const k of ['date', 'machine', 'cpuFlags', 'threads', 'isa', 'device', 'commit', 'peers']) expect(h).toHaveProperty(k);
    expect(typeof h.machine).toBe('string');
    expect(typeof h.cpuFlags).toBe('string');
    expect(Number.isInteger(h.threads) && h.threads > 0).toBe(true);
    expect(['cpu', 'cuda']).toContain(h.device);
    if (h.date === null) expect(typeof d.dateNote).toBe('string');
    else {
      expect(Number.isNaN(Date.parse(h.date))).toBe(false);
      // the file name starts with the run's date
      if (/^\d{4}-\d\d-\d\d/.test(f)) expect(f.slice(0, 10)).toBe(String(h.date).slice(0, 10));
    }
    if (d.peak !== null) for (const k of ['gflops', 'gflops1', 'gbps', 'threads']) expect(numOrNull(d.peak[k])).toBe(true);
    for (const c of d.calibrations) {
      expect(TRUST).toContain(c.trust);
      expect(numOrNull(c.gflops) && numOrNull(c.peakGflops) && numOrNull(c.fraction)).toBe(true);
      if (isNum(c.fraction)) expect(c.trust === 'trusted').toBe(c.fraction >= 0.7);
    }

    expect(Array.isArray(d.rows)).toBe(true);
    for (const r of d.rows) {
      expect(typeof r.suite).toBe('string');
      expect(typeof r.op).toBe('string');
      expect(typeof r.shape).toBe('string');
      // worldkit's median ms; a transcribed row recorded in GFLOP/s only has ms null and gflops set
      if (r.ms === null) {
        expect(d.transcribed).toBe(true);
        expect(isNum(r.gflops)).toBe(true);
      } else expect(isNum(r.ms) && r.ms > 0).toBe(true);
      if (r.p10 !== undefined || r.p90 !== undefined) expect(r.p10 <= r.ms && r.ms <= r.p90).toBe(true);
      for (const p of r.peers ?? []) {
        expect(typeof p.peer).toBe('string');
        expect(isNum(p.ratio) && p.ratio > 0).toBe(true);
        if (p.ms === null) expect(d.transcribed).toBe(true);
        else expect(isNum(p.ms) && p.ms > 0).toBe(true);
        if (p.trust !== undefined) expect(TRUST).toContain(p.trust);
        // ratio = peer ms / worldkit ms; printed values are rounded (3 figures, ratio to 2 decimals)
        if (isNum(p.ms) && isNum(r.ms)) expect(Math.abs(p.ms / r.ms / p.ratio - 1)).toBeLessThan(0.06);
      }
    }

    expect(Array.isArray(d.goals)).toBe(true);
    for (const g of d.goals) {
      expect(typeof g.goal).toBe('string');
      expect(isNum(g.target)).toBe(true);
      expect(VERDICTS).toContain(g.verdict);
      expect(typeof g.detail).toBe('string');
      if (g.verdict === 'not measured') continue;
      expect(isNum(g.ratio)).toBe(true);
      // the bench's rules: below the target is missed whatever the peer; met only with met: true
      if (g.ratio < g.target) expect(g.verdict).toBe('missed');
      else expect(['met', 'unverified']).toContain(g.verdict);
      expect(g.met).toBe(g.verdict === 'met' ? true : g.verdict === 'missed' ? false : null);
      if (/handicapped|uncalibrated/.test(g.detail)) expect(g.verdict).not.toBe('met');
    }
  });
});

describe("bench/README.md's goal table", () => {
  const readme = fs.readFileSync(path.join(root, 'bench', 'README.md'), 'utf8');
  const m = readme.match(/<!-- goal-table:begin -->\n([\s\S]*?)<!-- goal-table:end -->/);
  const lines = (m?.[1] ?? '')
    .split('\n')
    .filter((l) => l.startsWith('|') && !/^\|[-: |]+\|$/.test(l))
    .slice(1); // the header line
  const table = lines.map((l) => {
    const [goal, ratio, verdict, file] = l.split('|').slice(1, -1).map((s) => s.trim());
    return { goal, ratio, verdict, file };
  });

  test('is present, one line per goal of run.ts', () => {
    expect(table.length).toBe(11);
    expect(new Set(table.map((t) => t.goal)).size).toBe(table.length);
  });

  test.each(table.map((t) => [t.goal, t] as const))('%s: matches its results file', (_goal, t) => {
    expect(files).toContain(t.file);
    const g = (load(t.file).goals as Json[]).find((x) => x.goal === t.goal);
    expect(g).toBeDefined();
    expect(t.ratio).toBe(`${g.ratio.toFixed(2)}x`);
    expect(t.verdict).toBe(g.verdict);
  });

  test('names only goals that run.ts prints', () => {
    const run = fs.readFileSync(path.join(root, 'bench', 'run.ts'), 'utf8');
    for (const t of table) {
      // run.ts builds the GEMM and TF.js predictor lines from templates: compare with those
      const probe = t.goal.replace(/^predictor step B=(4|32) ≥ 10x/, 'predictor step B=${B} ≥ 10x').replace(/ \(\d+ threads?\)$/, ' (');
      expect(run.includes(probe)).toBe(true);
    }
  });
});
