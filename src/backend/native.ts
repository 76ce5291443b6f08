/**
 * Loads the native addon. Every native function is reached through `native`; the typed
 * wrappers live beside the TypeScript op that calls them (src/ops/*, src/nn/*), so this file
 * knows nothing about individual ops.
 *
 * Search order: $WORLDKIT_ADDON (a path to a .node file), then build/Release/worldkit.node at
 * the package root: the nearest folder above this file whose package.json is named 'worldkit'
 * (so it works from src/backend, dist/backend and dist-bench/src/backend alike).
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

function loadAddon(): Record<string, NativeFunction> {
  const candidates: string[] = [];
  if (process.env.WORLDKIT_ADDON) candidates.push(path.resolve(process.env.WORLDKIT_ADDON));
  const root = packageRoot();
  candidates.push(path.join(root, 'build', 'Release', 'worldkit.node'));
  candidates.push(path.join(root, 'build', 'Debug', 'worldkit.node'));
  for (const file of candidates) {
    if (fs.existsSync(file)) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return require(file);
    }
  }
  throw new Error(
    `worldkit: the native addon was not found (looked in ${candidates.join(', ')}). ` +
      'Build it with `npm run build:native` (cmake-js; needs cmake and a C++17 compiler).',
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
