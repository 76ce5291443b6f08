/**
 * writeReport without a browser: what the page says when sections are missing, that strings from
 * the files are escaped, that bad run folders give errors naming them, and the CLI command.
 * The page as a browser draws it is checked in test/report_browser.test.ts.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { writeReport } from '../src/diagnostics/report';
import { main } from '../src/cli/main';
import { makeRunFolder } from './helpers/report_fixture';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wk-report-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const read = (f: string) => fs.readFileSync(f, 'utf8');
const count = (s: string, re: RegExp) => (s.match(re) ?? []).length;

async function cli(argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [], err: string[] = [];
  const code = await main(argv, { out: (s) => out.push(s), err: (s) => err.push(s), isTTY: false });
  return { code, out, err };
}

describe('writeReport', () => {
  test('a full run: every section, charts and t-SNE points counted, written next to the run, self-contained', () => {
    const run = makeRunFolder(path.join(tmp, 'full'));
    const r = writeReport([run]);
    expect(r.file).toBe(path.join(run, 'report.html'));
    const html = read(r.file);
    expect(r.points).toBe(40);
    expect(count(html, /<svg [^>]*class="wk-chart/g)).toBe(r.charts);
    // retention overall + 2 heads + changed, latent MSE, PSNR, SSIM, separability, Fréchet, closed loop, t-SNE x3, 2 loss charts
    expect(r.charts).toBe(15);
    // three t-SNE views (by step, by each of 2 heads), each with one circle per point
    const tsne = html.match(/<svg [^>]*class="wk-chart wk-tsne"[\s\S]*?<\/svg>/g) ?? [];
    expect(tsne).toHaveLength(3);
    for (const s of tsne) {
      expect(s).toContain('data-points="40"');
      expect(count(s, /<circle /g)).toBe(40);
    }
    // the headline: verdict with the step where retention first falls below 0.9, and the 1/4/8 columns (horizon 8)
    expect(html).toMatch(/Retention falls below 0\.90 at <b>step \d+<\/b>/);
    expect(html).toContain('<th>step 1</th><th>step 4</th><th>step 8</th></thead>'.replace('</thead>', '</tr></thead>'));
    expect(html).not.toContain('<th>step 16</th>');
    // filmstrips: 2 windows x 3 rows as inlined PNGs, label cells under the predicted frames
    expect(count(html, /<img class="wk-strip"/g)).toBe(2 * 3 + 2); // + originals/reconstructions of the first window
    expect(count(html, /class="wk-lab wk-(right|wrong)"/g)).toBe(2 * 2 * 8);
    expect(html).toContain('wk-wrong');
    // the changed subset is empty at step 1 (the fixture's "NaN" strings): shown as n=0, not as NaN
    expect(html).not.toMatch(/NaN/);
    // no network, no script
    expect(html).not.toMatch(/<script|src="https?:|href="https?:|url\(/i);
    expect(html).toContain("default-src 'none'");
    // today's outputs: summary.md escaped inside <details>, loss charts from metrics.jsonl (torn line skipped)
    expect(html).toContain('A fixture summary with &lt;b&gt;markup&lt;/b&gt; &amp; an ampersand.');
    expect(html).toContain('predictor: loss per epoch');
    // no section failed
    expect(html).not.toContain('class="wk-error"');
  });

  test('missing optional sections produce the explanatory notes instead of failing', () => {
    const run = makeRunFolder(path.join(tmp, 'unlabeled'), { unlabeled: true, noExtras: true });
    const r = writeReport([run]);
    const html = read(r.file);
    expect(r.points).toBe(0);
    expect(html).toContain('No semantic metrics (eval.json says: “semantic metrics need labels: this data has none”)');
    expect(html).toContain('No semantic probe (eval.json says: “semantic metrics need labels');
    expect(html).toMatch(/no tsne\.json in .*eval/);
    expect(html).toMatch(/no filmstrips\.json in .*eval/);
    expect(html).toContain('No per-class reconstruction metrics');
    // pixel curves are still drawn
    expect(html).toContain('PSNR of decoded frames');
    expect(html).not.toContain('class="wk-error"');

    // an older run: eval.json with only reconstruction and rollout, no semanticNote
    const old = path.join(tmp, 'old');
    fs.mkdirSync(path.join(old, 'eval'), { recursive: true });
    fs.writeFileSync(path.join(old, 'eval', 'eval.json'), JSON.stringify({ reconstruction: { frames: 8, mse: 0.01, psnr: 20, ssim: 0.6 } }));
    const h2 = read(writeReport([old]).file);
    expect(h2).toContain('No rollout section in eval.json');
    expect(h2).toContain('No semantic probe in eval.json');
    expect(h2).not.toContain('class="wk-error"');
  });

  test('a malformed section shows a note naming the problem; the rest of the report is written', () => {
    const run = makeRunFolder(path.join(tmp, 'malformed'));
    const ev = JSON.parse(read(path.join(run, 'eval', 'eval.json')));
    ev.rollout.semantic.overall = null;
    fs.writeFileSync(path.join(run, 'eval', 'eval.json'), JSON.stringify(ev));
    fs.writeFileSync(path.join(run, 'eval', 'tsne.json'), '{"points": [');
    const html = read(writeReport([run]).file);
    expect(html).toMatch(/class="wk-error">Where and when the meaning is lost: could not be drawn/);
    expect(html).toMatch(/tsne\.json: not valid JSON/);
    expect(html).toContain('PSNR of decoded frames');
  });

  test('strings from the files are HTML-escaped, and file names cannot pull files from outside the eval folder', () => {
    const evil = '<script>alert(1)</script>';
    const run = makeRunFolder(path.join(tmp, 'evil'), { dataText: evil, headNames: ['<img src=x onerror=alert(2)>', 'a"b\'c'], windowTitle: '</div><iframe src="https://example.com">' });
    const fm = JSON.parse(read(path.join(run, 'eval', 'filmstrips.json')));
    fm.windows[1].rows[0].file = '../../../../../../etc/passwd';
    fs.writeFileSync(path.join(run, 'eval', 'filmstrips.json'), JSON.stringify(fm));
    const html = read(writeReport([run], { title: 'T <b>&' }).file);
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('<img src=x');
    expect(html).not.toContain('<iframe');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&lt;img src=x onerror=alert(2)&gt;');
    expect(html).toContain('a&quot;b&#39;c');
    expect(html).toContain('<title>T &lt;b&gt;&amp;</title>');
    expect(html).toMatch(/is outside .*: not inlined/);
    expect(html).not.toContain('root:x:0');
  });

  test('several runs: a comparison table with one row per run and overlaid retention curves; default ./report.html', () => {
    const a = makeRunFolder(path.join(tmp, 'cmp', 'a'));
    const b = makeRunFolder(path.join(tmp, 'cmp', 'b'), { quality: 0.8, unreliableHead: true });
    const c = makeRunFolder(path.join(tmp, 'cmp', 'c'), { unlabeled: true, noExtras: true });
    const cwd = process.cwd();
    process.chdir(tmp);
    let r;
    try {
      r = writeReport([a, b, path.join(c, 'eval')]);
    } finally {
      process.chdir(cwd);
    }
    expect(r.file).toBe(path.join(fs.realpathSync(tmp), 'report.html'));
    const html = read(r.file);
    const cmp = html.match(/<table class="wk-comparison">[\s\S]*?<\/table>/)?.[0] ?? '';
    expect(count(cmp, /<tbody>/g)).toBe(1);
    expect(count(cmp.split('<tbody>')[1], /<tr>/g)).toBe(3);
    expect(cmp).toContain('>a<');
    expect(cmp).toContain('>b<');
    // c was given as its eval folder: its run-level files are found one up
    expect(cmp).toContain('>c<');
    expect(html).toContain('semantic retention per run');
    // a's retention is better than b's: set in bold in a's row; c (no semantic) shows dashes
    const rowsHtml = cmp.split('<tbody>')[1].split('<tr>').slice(1);
    expect(rowsHtml[0]).toMatch(/class="wk-best">0\.95</);
    expect(rowsHtml[1]).not.toMatch(/wk-best">0\.76</);
    expect(rowsHtml[2]).toMatch(/<td>–<\/td>/);
    expect(html).toMatch(/Probe warning: curve \(81\.0%\) is below the 95% held-out accuracy threshold/);
    // the comparison comes before the runs' own sections
    expect(html.indexOf('id="comparison"')).toBeLessThan(html.indexOf('id="run0"'));
    expect(r.points).toBe(80);
    expect(html).not.toContain('different horizons');

    // runs of different horizons: last-step columns are not ranked, and the caption says why
    const d = makeRunFolder(path.join(tmp, 'cmp', 'd'), { horizon: 16 });
    const mixed = read(writeReport([a, d], { out: path.join(tmp, 'mixed.html') }).file);
    expect(mixed).toContain('<b>The runs have different horizons</b> (a 8, d 16)');
    const mixedRows = (mixed.match(/<table class="wk-comparison">[\s\S]*?<\/table>/)?.[0] ?? '').split('<tbody>')[1].split('<tr>').slice(1);
    expect(mixedRows.join('')).not.toMatch(/wk-best">(12|16|20)\.\d</); // no PSNR marked best
  });

  test('bad arguments and folders without eval data give errors naming them', () => {
    const empty = path.join(tmp, 'empty');
    fs.mkdirSync(empty, { recursive: true });
    expect(() => writeReport([empty])).toThrow(`writeReport: runDirs[0]: '${empty}' has neither an eval/ folder nor an eval.json`);
    expect(() => writeReport([path.join(tmp, 'nope')])).toThrow(/writeReport: runDirs\[0\]: '.*nope' does not exist/);
    fs.mkdirSync(path.join(tmp, 'noeval', 'eval'), { recursive: true });
    expect(() => writeReport([path.join(tmp, 'noeval')])).toThrow(/noeval\/eval' has no eval\.json/);
    expect(() => writeReport([])).toThrow('writeReport: runDirs must be a non-empty array of folder paths, got an Array(0)');
    expect(() => writeReport('runs/demo' as unknown as string[])).toThrow(/writeReport: runDirs must be a non-empty array/);
    fs.mkdirSync(path.join(tmp, 'badjson', 'eval'), { recursive: true });
    fs.writeFileSync(path.join(tmp, 'badjson', 'eval', 'eval.json'), '{oops');
    expect(() => writeReport([path.join(tmp, 'badjson')])).toThrow(/^writeReport: runDirs\[0\]: .*badjson\/eval\/eval\.json: not valid JSON/);
  });
});

describe('worldkit report', () => {
  test('writes the report and prints its path; --out; --help', async () => {
    const run = makeRunFolder(path.join(tmp, 'cli'));
    const r1 = await cli(['report', run]);
    expect(r1).toEqual({ code: 0, out: [path.join(run, 'report.html')], err: [] });
    const out = path.join(tmp, 'cli-out', 'mine.html');
    const r2 = await cli(['report', run, path.join(tmp, 'full'), '--out', out]);
    expect(r2.code).toBe(0);
    expect(r2.out).toEqual([out]);
    expect(read(out)).toContain('wk-comparison');
    const h = await cli(['report', '--help']);
    expect(h.code).toBe(0);
    expect(h.out.join('\n')).toMatch(/^usage: worldkit report RUN_DIR \[RUN_DIR\.\.\.\] \[--out file\.html\]/);
    expect(h.out.join('\n')).toContain('--out <file.html>');
    const all = await cli(['--help']);
    expect(all.out.join('\n')).toMatch(/\n {2}report +one self-contained report\.html/);
  });

  test('a folder without eval data, a missing folder, or no folder: exit 2 with one line naming it', async () => {
    const empty = path.join(tmp, 'cli-empty');
    fs.mkdirSync(empty, { recursive: true });
    const e1 = await cli(['report', empty]);
    expect(e1.code).toBe(2);
    expect(e1.err).toEqual([`worldkit report: '${empty}' has neither an eval/ folder nor an eval.json: expected a run folder (like runs/demo) or its eval folder`]);
    const e2 = await cli(['report', path.join(tmp, 'cli', 'missing')]);
    expect(e2.code).toBe(2);
    expect(e2.err[0]).toMatch(/^worldkit report: '.*missing' does not exist$/);
    const e3 = await cli(['report']);
    expect(e3.code).toBe(2);
    expect(e3.err[0]).toMatch(/^worldkit report: needs at least one RUN_DIR/);
  });
});
