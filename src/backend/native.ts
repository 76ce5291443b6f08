/**
 * Loads the native addon. Every native function is reached through `native`; the typed
 * wrappers live beside the TypeScript op that calls them (src/ops/*, src/nn/*), so this file
 * knows nothing about individual ops.
 *
 * Search order: $WORLDKIT_ADDON (a path to a .node file); then a prebuilt addon matching this
 * platform, prebuilds/<platform>-<arch>/worldkit.cuda.node or worldkit.node (`npm run
 * build:prebuild`; the CUDA one first unless WORLDKIT_CUDA=0), unless build/Release/worldkit.node
 * is newer (compiled after it: WORLDKIT_BUILD_FROM_SOURCE=1 npm rebuild, or a developer's build);
 * then build/Release/worldkit.node and build/Debug/worldkit.node. All at the package root: the
 * nearest folder above this file whose package.json is named 'worldkit' (so it works from
 * src/backend and dist/backend alike).
 */
import * as fs from 'fs';
import * as path from 'path';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type NativeFunction = (...args: any[]) => any;

/** The worldkit package root: walks up from `from` to the folder whose package.json is named 'worldkit'. */
export function packageRoot(from: string = __dirname): string {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg)) {
      try {
        if (JSON.parse(fs.readFileSync(pkg, 'utf8')).name === 'worldkit') return dir;
      } catch {
        // an unreadable package.json is not ours; keep walking
      }
    }
    if (path.dirname(dir) === dir) return path.resolve(from, '..', '..');
  }
}

/** The prebuilt addons for this platform, preferred first (prebuilds/<platform>-<arch>/). */
export function prebuildCandidates(root: string = packageRoot()): string[] {
  const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  const names = process.env.WORLDKIT_CUDA === '0' ? ['worldkit.node'] : ['worldkit.cuda.node', 'worldkit.node'];
  return names.map((f) => path.join(dir, f));
}

/** The addon files to try, in order (the first that exists is loaded). */
export function addonCandidates(root: string = packageRoot()): string[] {
  const candidates: string[] = [];
  if (process.env.WORLDKIT_ADDON) candidates.push(path.resolve(process.env.WORLDKIT_ADDON));
  const built = [path.join(root, 'build', 'Release', 'worldkit.node'), path.join(root, 'build', 'Debug', 'worldkit.node')];
  const prebuilt = prebuildCandidates(root).filter((f) => fs.existsSync(f));
  const mtime = (f: string): number => (fs.existsSync(f) ? fs.statSync(f).mtimeMs : -1);
  // A compile after the prebuild was unpacked (a rebuild from source) wins over it.
  if (prebuilt.length && mtime(built[0]) > mtime(prebuilt[0])) candidates.push(built[0], ...prebuilt, built[1]);
  else candidates.push(...prebuilt, ...built);
  return candidates;
}

function loadAddon(): Record<string, NativeFunction> {
  const candidates = addonCandidates();
  const existing = candidates.filter((f) => fs.existsSync(f));
  for (const [i, file] of existing.entries()) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return require(file);
    } catch (e) {
      // a prebuild that does not load here (another libc, a missing symbol): try the next one
      if (i === existing.length - 1) throw e;
    }
  }
  throw new Error(
    `worldkit: the native addon was not found (looked in ${candidates.join(', ')}). ` +
      'Build it with `npm rebuild worldkit` (compiles it with cmake-js: needs cmake and a C++17 compiler; ' +
      'in a clone of the repository: npm run build:native).',
  );
}

export const native: Record<string, NativeFunction> = loadAddon();

/** Families of native ops compiled into this build (e.g. 'core', 'gemm', 'lstm'). */
export function nativeFamilies(): string[] {
  return native.families as unknown as string[];
}

/** Throws a clear error when an op's native family is missing from this build. */
export function requireNative(name: string): NativeFunction {
  const fn = native[name];
  if (typeof fn !== 'function') throw new Error(`worldkit: native function '${name}' is missing from this build of the addon`);
  return fn;
}
