/**
 * TensorFlow.js peer plumbing (benchmark-only; `@tensorflow/tfjs` and
 * `@tensorflow/tfjs-backend-wasm` are devDependencies, never dependencies of worldkit).
 * Backends: 'cpu' (pure JavaScript) and 'wasm' (XNNPACK + SIMD; its .wasm files load from
 * node_modules/@tensorflow/tfjs-backend-wasm/dist, no network). `@tensorflow/tfjs-node` is not
 * used: its install downloads libtensorflow from outside the npm registry.
 */
export type TF = typeof import('@tensorflow/tfjs');

let tfCache: TF | null | undefined;

/** The tfjs module with the wasm backend registered, or null when not installed. */
export function loadTf(): TF | null {
  if (tfCache !== undefined) return tfCache;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const tf = require('@tensorflow/tfjs') as TF;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require('@tensorflow/tfjs-backend-wasm');
    } catch {
      // wasm backend not installed: cpu only
    }
    // Production mode: no debug checks (the peer at its best) and no "install tfjs-node" banner.
    tf.enableProdMode();
    tfCache = tf;
  } catch {
    tfCache = null;
  }
  return tfCache;
}

/** Switches backend; false when it cannot be used. Silences tfjs' "install tfjs-node" banner. */
export async function useBackend(tf: TF, name: 'cpu' | 'wasm'): Promise<boolean> {
  const warn = console.warn, log = console.log;
  console.warn = () => undefined;
  console.log = () => undefined;
  try {
    const ok = await tf.setBackend(name);
    await tf.ready();
    return ok && tf.getBackend() === name;
  } catch {
    return false;
  } finally {
    console.warn = warn;
    console.log = log;
  }
}

/** Awaits a training step's loss value so the work is really done before the timer stops. */
export function sync(x: { dataSync(): unknown } | null | undefined): void {
  if (x) x.dataSync();
}
