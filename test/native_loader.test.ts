/**
 * The addon loader's search order (issue 16): $WORLDKIT_ADDON, then a prebuild matching this
 * platform (the CUDA one first unless WORLDKIT_CUDA=0) unless build/Release is newer, then
 * build/Release and build/Debug.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { addonCandidates, prebuildCandidates } from '../src/backend/native';

describe('addon search order', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'wk-loader-'));
  const plat = `${process.platform}-${process.arch}`;
  const pre = path.join(root, 'prebuilds', plat, 'worldkit.node');
  const built = path.join(root, 'build', 'Release', 'worldkit.node');
  const debug = path.join(root, 'build', 'Debug', 'worldkit.node');
  const saved = { addon: process.env.WORLDKIT_ADDON, cuda: process.env.WORLDKIT_CUDA };
  beforeAll(() => {
    delete process.env.WORLDKIT_ADDON;
    delete process.env.WORLDKIT_CUDA;
    for (const f of [pre, built]) {
      fs.mkdirSync(path.dirname(f), { recursive: true });
      fs.writeFileSync(f, '');
    }
  });
  afterAll(() => {
    fs.rmSync(root, { recursive: true, force: true });
    if (saved.addon !== undefined) process.env.WORLDKIT_ADDON = saved.addon;
    if (saved.cuda !== undefined) process.env.WORLDKIT_CUDA = saved.cuda;
  });

  test('a matching prebuild comes before build/Release', () => {
    const t = Date.now() / 1000;
    fs.utimesSync(built, t - 100, t - 100);
    fs.utimesSync(pre, t, t);
    expect(addonCandidates(root)).toEqual([pre, built, debug]);
  });
  test('...unless build/Release was compiled after it', () => {
    const t = Date.now() / 1000;
    fs.utimesSync(pre, t - 100, t - 100);
    fs.utimesSync(built, t, t);
    expect(addonCandidates(root)).toEqual([built, pre, debug]);
  });
  test('the CUDA prebuild first, none with WORLDKIT_CUDA=0; $WORLDKIT_ADDON before all', () => {
    expect(prebuildCandidates(root).map((f) => path.basename(f))).toEqual(['worldkit.cuda.node', 'worldkit.node']);
    process.env.WORLDKIT_CUDA = '0';
    expect(prebuildCandidates(root).map((f) => path.basename(f))).toEqual(['worldkit.node']);
    delete process.env.WORLDKIT_CUDA;
    process.env.WORLDKIT_ADDON = '/x/y.node';
    expect(addonCandidates(root)[0]).toBe('/x/y.node');
    delete process.env.WORLDKIT_ADDON;
  });
});
