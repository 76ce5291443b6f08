/**
 * The package as a Node user gets it (issue 16): `npm pack` with a prebuilt addon, installed into
 * an empty project offline (the npm cache holds the dependencies after `npm ci`; the install script
 * finds the prebuild, so nothing is compiled), then, in that project:
 *   - a strict TypeScript consumer with `declaration: true` naming ConvVAE and the trainer types,
 *     compiled as CommonJS (.ts) and as an ES module (.mts) with module node16, and run;
 *   - every ```ts snippet of the README, compiled and run exactly as printed, as CJS and as ESM;
 *   - `npx worldkit bench --list`;
 * and the tarball's contents (no dist-bench, no source maps, no test sources, no peers, LICENSE),
 * the ESM entry's names against require('worldkit'), and arethetypeswrong on the tarball.
 *
 * Needs dist/ built (npm run build:ts && npm run build:bench; `npm ci` runs both through prepare)
 * and build/Release/worldkit.node.
 */
import { execFileSync, spawnSync, SpawnSyncReturns } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.join(__dirname, '..');
const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
const npmEnv: NodeJS.ProcessEnv = { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
for (const k of Object.keys(npmEnv)) if (/^npm_(lifecycle|package)_/.test(k)) delete npmEnv[k];

function run(cmd: string, args: string[], cwd: string, timeout = 300_000): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: npmEnv, timeout, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited ${r.status}${r.signal ? ` (${r.signal})` : ''}:\n${(r.stdout ?? '').slice(-3000)}\n${(r.stderr ?? '').slice(-3000)}`);
  return r;
}

/** The README's ```ts blocks, in order. */
export function readmeSnippets(readme: string): string[] {
  return [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
}

const CONSUMER = `import * as wk from 'worldkit';
import { ConvVAE, LatentPredictor } from 'worldkit';
import type { ConvVAEOptions, VAEOutput, EpisodeSource, Pair, AnyTypedArray, Storage, LoopSpec, TrainVAEOptions, TrainPredictorOptions, TrainResult, TrainCallbacks, Episode } from 'worldkit';

// declaration: true must be able to write every one of these types
export function makeVAE(o: ConvVAEOptions = {}) {
  return wk.train.createVAE(o);
}
export function makePredictor(vae: ConvVAE) {
  return wk.train.createPredictor(vae, { hiddenSize: 16 });
}
export function encode(vae: ConvVAE, x: wk.Tensor): VAEOutput {
  return vae.forward(x);
}
export const fit = (vae: ConvVAE, data: EpisodeSource, o: TrainVAEOptions): Promise<TrainResult> => wk.train.trainVAE(vae, data, o);
export const fitPredictor = (p: LatentPredictor, vae: ConvVAE, data: Episode[], o: TrainPredictorOptions) => wk.train.trainPredictor(p, vae, data, o);
export const callbacks: TrainCallbacks = { onEpochEnd: () => undefined };
export const kernel: Pair = [3, 3];
export type Internals = [AnyTypedArray, Storage | null, LoopSpec | null];
export const episodes = () => wk.data.generateEpisodes({ episodes: 1, steps: 8, seed: 1 });

const vae = makeVAE({ encoderChannels: [8, 16, 32, 64], latentShape: [16, 4, 4] });
const out = encode(vae, wk.rand([1, 3, 64, 64], { seed: 1 }));
const predictor = makePredictor(vae);
console.log(JSON.stringify({ vae: vae instanceof ConvVAE, predictor: predictor instanceof LatentPredictor, z: out.z.shape, exports: Object.keys(wk).length }));
`;

describe('the packed package in an empty project (issue 16)', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wk-pkg-'));
  const stage = path.join(tmp, 'stage');
  const app = path.join(tmp, 'app');
  let tarball = '';
  let files: string[] = [];

  afterAll(() => {
    if (!process.env.WORLDKIT_KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
  });

  beforeAll(() => {
    for (const f of ['dist/index.js', 'dist/index.mjs', 'dist/index.d.mts', 'dist/bench/run.js', 'build/Release/worldkit.node'])
      if (!fs.existsSync(path.join(root, f))) throw new Error(`package test: ${f} is missing (npm run build:ts && npm run build:bench; the addon: npm run build:native)`);
    // What `npm pack` would take from the repository, copied to a staging folder with a prebuild
    // added (so the repository's own prebuilds/ is never touched).
    const list = JSON.parse(run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], root).stdout)[0].files.map((f: { path: string }) => f.path);
    for (const f of list) {
      fs.mkdirSync(path.dirname(path.join(stage, f)), { recursive: true });
      fs.copyFileSync(path.join(root, f), path.join(stage, f));
    }
    run(process.execPath, [path.join(root, 'scripts', 'prebuild.js'), '--out', path.join(stage, 'prebuilds')], root);
    const packed = JSON.parse(run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', tmp], stage).stdout)[0];
    tarball = path.join(tmp, packed.filename);
    files = packed.files.map((f: { path: string }) => f.path);
    console.log(`package: ${packed.filename}, ${(packed.size / 1e6).toFixed(2)} MB packed, ${(packed.unpackedSize / 1e6).toFixed(2)} MB unpacked, ${packed.entryCount} files`);

    // An empty project depending on the tarball, installed offline with scripts on (the install
    // script must pick the prebuild). npm's cache holds the dependencies' tarballs after `npm ci`
    // but not their registry metadata, so the project gets a lockfile: worldkit's dependency tree
    // as the repository's lockfile resolved it (its non-dev entries), worldkit itself from the file.
    fs.mkdirSync(app, { recursive: true });
    const spec = `file:../${packed.filename}`;
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, dependencies: { worldkit: spec } }, null, 2));
    const repoLock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8'));
    const repoPkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
    const packages: Record<string, unknown> = {
      '': { name: 'consumer', version: '1.0.0', dependencies: { worldkit: spec } },
      'node_modules/worldkit': { version: repoPkg.version, resolved: spec, integrity: packed.integrity, hasInstallScript: true, license: repoPkg.license, dependencies: repoPkg.dependencies, bin: repoPkg.bin, engines: repoPkg.engines },
    };
    const registry = 'https://registry.npmjs.org';
    for (const [k, v] of Object.entries(repoLock.packages as Record<string, { dev?: boolean; devOptional?: boolean; link?: boolean; version?: string; resolved?: string }>)) {
      if (!k.startsWith('node_modules/') || v.dev || v.devOptional || v.link) continue;
      // the repository's lockfile omits `resolved`; with it (and the integrity) npm reads the tarball from its cache
      const name = k.slice(k.lastIndexOf('node_modules/') + 'node_modules/'.length);
      packages[k] = { ...v, resolved: v.resolved ?? `${registry}/${name}/-/${name.split('/').pop()}-${v.version}.tgz` };
    }
    fs.writeFileSync(path.join(app, 'package-lock.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', lockfileVersion: 3, requires: true, packages }, null, 2));
    const t0 = Date.now();
    run('npm', ['ci', '--offline', '--no-audit', '--no-fund', '--foreground-scripts'], app);
    console.log(`offline install with the prebuild: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }, 600_000);

  test('package contents: what users run and nothing else', () => {
    expect(files).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'package.json', 'dist/index.js', 'dist/index.mjs', 'dist/index.d.ts', 'dist/index.d.mts', 'dist/cli/main.js', 'dist/bench/run.js', 'scripts/install.js']));
    // the prebuild: worldkit.node (CPU) or worldkit.cuda.node (CUDA kernels too), per how build/Release was compiled
    expect(files.filter((f) => f.startsWith(`prebuilds/${process.platform}-${process.arch}/`)).length).toBe(1);
    const bad = files.filter((f) => /^dist-bench\//.test(f) || f.endsWith('.map') || /^test\//.test(f) || /(^|\/)src\//.test(f) || /\.(py|c)$/.test(f) || /^cuda\/emulation\//.test(f) || /^bench\//.test(f) || /\.ts$/.test(f.replace(/\.d\.m?ts$/, '')));
    expect(bad).toEqual([]);
    // no compiled file points at a source map
    const pointing = files.filter((f) => f.endsWith('.js') && fs.readFileSync(path.join(stage, f), 'utf8').includes('sourceMappingURL'));
    expect(pointing).toEqual([]);
    expect(fs.readFileSync(path.join(stage, 'LICENSE'), 'utf8')).toMatch(/MIT License[\s\S]*worldkit authors/);
  });

  test('the install used the prebuild: nothing compiled, no build folder', () => {
    const pkg = path.join(app, 'node_modules', 'worldkit');
    expect(fs.existsSync(path.join(pkg, 'prebuilds', `${process.platform}-${process.arch}`))).toBe(true);
    expect(fs.existsSync(path.join(pkg, 'build'))).toBe(false);
    const r = run(process.execPath, ['-e', "const wk=require('worldkit'); console.log(wk.cpuIsa(), wk.randn([2,2],{seed:1}).shape.join('x'))"], app);
    expect(r.stdout).toMatch(/2x2/);
  });

  test('ESM and CJS entries export the same names, and the ESM list matches require()', () => {
    const r = run(process.execPath, ['--input-type=module', '-e', "import * as m from 'worldkit'; import { createRequire } from 'module'; const c = createRequire(import.meta.url)('worldkit'); const e = Object.keys(m).filter((k) => k !== 'default').sort(); const k = Object.keys(c).sort(); console.log(JSON.stringify({ same: JSON.stringify(e) === JSON.stringify(k), e: e.length, k: k.length, missing: k.filter((x) => !e.includes(x)) }));"], app);
    expect(JSON.parse(r.stdout)).toMatchObject({ same: true, missing: [] });
  });

  test('a strict consumer with declaration: true compiles and runs, as CommonJS and as ESM', () => {
    const dir = path.join(app, 'types');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'consumer.ts'), CONSUMER);
    fs.writeFileSync(path.join(dir, 'consumer.mts'), CONSUMER);
    const tsconfig = {
      compilerOptions: {
        strict: true, declaration: true, module: 'node16', moduleResolution: 'node16', target: 'ES2022', outDir: 'out',
        types: ['node'], typeRoots: [path.join(root, 'node_modules', '@types')], skipLibCheck: false, noEmitOnError: true,
      },
      files: ['consumer.ts', 'consumer.mts'],
    };
    fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
    run(process.execPath, [tsc, '-p', 'tsconfig.json'], dir);
    expect(fs.readFileSync(path.join(dir, 'out', 'consumer.d.ts'), 'utf8')).toMatch(/ConvVAE/);
    for (const f of ['consumer.js', 'consumer.mjs']) {
      const r = run(process.execPath, [path.join(dir, 'out', f)], dir);
      expect(JSON.parse(r.stdout.trim().split('\n').pop() as string)).toMatchObject({ vae: true, predictor: true, z: [1, 16, 4, 4] });
    }
  }, 300_000);

  test("the README's ts snippets compile strictly and run as printed, as CommonJS and as ESM", () => {
    const snippets = readmeSnippets(fs.readFileSync(path.join(root, 'README.md'), 'utf8'));
    expect(snippets.length).toBeGreaterThanOrEqual(4);
    const dir = path.join(app, 'readme');
    fs.mkdirSync(dir, { recursive: true });
    const names: string[] = [];
    snippets.forEach((s, i) => {
      fs.writeFileSync(path.join(dir, `snippet${i + 1}.ts`), s);
      fs.writeFileSync(path.join(dir, `snippet${i + 1}.mts`), s);
      names.push(`snippet${i + 1}.ts`, `snippet${i + 1}.mts`);
    });
    const tsconfig = { compilerOptions: { strict: true, module: 'node16', moduleResolution: 'node16', target: 'ES2022', outDir: 'out', types: ['node'], typeRoots: [path.join(root, 'node_modules', '@types')], noEmitOnError: true }, files: names };
    fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
    run(process.execPath, [tsc, '-p', 'tsconfig.json'], dir);
    // Snippets run in order (a later one may load what an earlier one trained), CJS and ESM each in their own folder.
    for (const [kind, ext] of [['cjs', 'js'], ['esm', 'mjs']]) {
      const cwd = path.join(dir, kind);
      fs.mkdirSync(cwd, { recursive: true });
      snippets.forEach((_, i) => {
        const t0 = Date.now();
        run(process.execPath, [path.join(dir, 'out', `snippet${i + 1}.${ext}`)], cwd, 600_000);
        console.log(`README snippet ${i + 1} (${kind}): ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      });
    }
  }, 900_000);

  test('npx worldkit bench --list works from the installed package', () => {
    const r = run('npx', ['--no-install', 'worldkit', 'bench', '--list'], app);
    expect(r.stdout).toMatch(/gemm/);
    expect(r.stdout).toMatch(/lstm/);
    const help = run('npx', ['--no-install', 'worldkit', '--help'], app);
    expect(help.stdout).toMatch(/commands:[\s\S]*train-vae/);
  });

  test('arethetypeswrong finds no problem in the tarball', () => {
    const attw = path.join(root, 'node_modules', '.bin', 'attw');
    const r = spawnSync(attw, [tarball, '--format', 'json'], { cwd: tmp, encoding: 'utf8', env: npmEnv, timeout: 120_000 });
    const report = JSON.parse(r.stdout);
    const problems = (report.analysis?.problems ?? []) as { kind: string; resolutionKind?: string }[];
    expect(problems.map((p) => `${p.kind} (${p.resolutionKind ?? ''})`)).toEqual([]);
    expect(r.status).toBe(0);
  }, 180_000);
});

test('the ESM entry is generated from the declarations, without loading the addon', () => {
  // scripts/write-esm-entry.js reads dist/index.d.ts with the TypeScript API; its names must be
  // exactly require('worldkit')'s (a value export missing from the .mjs would be a silent hole).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { valueExports } = require('../scripts/write-esm-entry.js') as { valueExports: (f: string) => string[] };
  const names = valueExports(path.join(root, 'dist', 'index.d.ts'));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const cjs = Object.keys(require(path.join(root, 'dist', 'index.js'))).sort();
  expect(names).toEqual(cjs);
  expect(execFileSync(process.execPath, ['-e', "require('./scripts/write-esm-entry.js'); console.log(Object.keys(require.cache).some((f) => f.endsWith('.node')))"], { cwd: root, encoding: 'utf8' }).trim()).toBe('false');
});
