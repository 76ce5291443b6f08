/**
 * Crash-safe, versioned training checkpoints.
 *
 * Layout of a checkpoint folder `dir`:
 *   dir/latest.json                 {"format":"worldkit-checkpoint","version":1,"latest":"ckpt-000012"}
 *                                   replaced atomically (temp file + rename) after a save completes
 *   dir/ckpt-000012/
 *     weights.safetensors           every module's parameters, prefixed by its name
 *                                   (`predictor.lstm.weight_ih_l0`, `vae.encoder.0.weight`), PyTorch names
 *     optimizer.safetensors         optimizer tensors (`state.<param index>.<key>`, e.g. state.3.expAvg)
 *     optimizer.<name>.safetensors  the same for each extra optimizer (a discriminator's, the VAE's in
 *                                   end-to-end training); their scalars are under state.json's optimizers.<name>
 *     state.json                    format, version, kind, config, epoch, step, optimizer scalars,
 *                                   schedule state, RNG states (Generator.state()), metrics so far,
 *                                   trainer state, the list of files with their sizes, and
 *                                   `checksum`: SHA-256 of the rest of state.json
 *
 * A save writes a fresh `.tmp-*` folder, fsyncs its files, renames it to `ckpt-<step>` and only
 * then points latest.json at it: a crash at any moment leaves latest.json naming a complete
 * checkpoint (the previous one). Older checkpoints beyond `keep` are deleted afterwards.
 * Loading validates every part and throws a CheckpointError that names what is wrong.
 * Integrity: the safetensors files carry a checksum of their contents (src/io/safetensors.ts)
 * and state.json one of its own, so a flipped byte anywhere is refused, naming the file, rather
 * than resuming from changed weights or a changed epoch. Checkpoints written before the
 * checksums existed (no `checksum` key) still load.
 *
 * Testing hook: WORLDKIT_CHECKPOINT_PAUSE_MS=<ms> makes a save sleep mid-write (after the
 * weights, before the optimizer file and the rename), and writes `<tmp folder>/.paused` first, so
 * a test can kill the process exactly inside a save.
 */
import * as fs from 'fs';
import * as path from 'path';
import { createHash } from 'crypto';
import { Tensor } from '../tensor/tensor';
import { Module } from '../nn/module';
import { Optimizer, OptimizerStateDict, SavedParamState } from '../optim/optimizer';
import { encodeSafetensors, decodeSafetensors } from '../io/safetensors';
import { renameAtomic, syncDir, writeFileAtomic } from '../io/atomic_file';
import { native } from '../backend/native';
import type { GeneratorState } from '../random/generator';

export const CHECKPOINT_FORMAT = 'worldkit-checkpoint';
export const CHECKPOINT_VERSION = 1;

/** Names of extra optimizers (they name files): letters, digits, '_' and '-'. */
const EXTRA_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}

/** What a trainer saves. Tensors of `modules` are copied out at save time. */
export interface CheckpointData {
  /** What was trained ('vae', 'predictor', ...). */
  kind: string;
  /** The run's configuration (model options, training options), JSON. */
  config: Record<string, unknown>;
  modules: Record<string, Module>;
  optimizer?: Optimizer | null;
  /**
   * Optimizers beside the main one, by name (a discriminator's, the VAE's in end-to-end
   * training): each saved as optimizer.<name>.safetensors plus state.json's optimizers.<name>.
   */
  extraOptimizers?: Record<string, Optimizer>;
  /** Epoch to continue from and the batch index within it (0: the epoch starts afresh). */
  epoch: number;
  batch?: number;
  /** Optimizer steps taken so far. */
  step: number;
  schedule?: unknown;
  rng?: Record<string, GeneratorState>;
  metrics?: unknown[];
  /** Anything else the trainer needs to continue exactly (running sums, best loss, ...). */
  trainer?: Record<string, unknown>;
}

/** A loaded checkpoint: everything of CheckpointData as plain values (weights as tensors). */
export interface LoadedCheckpoint {
  path: string;
  name: string;
  kind: string;
  config: Record<string, unknown>;
  epoch: number;
  batch: number;
  step: number;
  schedule: unknown;
  rng: Record<string, GeneratorState>;
  metrics: unknown[];
  trainer: Record<string, unknown>;
  /** Weights by full name (`predictor.head.weight`). Call dispose() when done. */
  weights: Record<string, Tensor>;
  optimizer: OptimizerStateDict | null;
  /** The extra optimizers' states by name (empty when the run had none). */
  extraOptimizers: Record<string, OptimizerStateDict>;
  /** The weights of one module, names without its prefix. */
  moduleWeights(prefix: string): Record<string, Tensor>;
  dispose(): void;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function writeSynced(file: string, data: Uint8Array | string): number {
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, buf);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return buf.length;
}

function optimizerParts(sd: OptimizerStateDict): { tensors: Record<string, Tensor>; json: unknown } {
  const tensors: Record<string, Tensor> = {};
  const state = sd.state.map((s, i) => {
    if (!s) return null;
    const scalars: Record<string, number | string> = {};
    for (const [k, v] of Object.entries(s)) {
      if (v instanceof Float32Array) {
        const name = `state.${i}.${k}`;
        tensors[name] = new Tensor([v.length], 'float32', v);
        scalars[k] = `@${name}`;
      } else scalars[k] = v;
    }
    return scalars;
  });
  return { tensors, json: { type: sd.type, lr: sd.lr, options: sd.options, state } };
}

/**
 * The checksum of state.json's contents (every key but `checksum`), over the text the writer
 * produces: JSON.parse keeps key order and JSON numbers round-trip, so the reader recomputes it
 * from the parsed object.
 */
function stateChecksum(state: Record<string, unknown>): string {
  return createHash('sha256').update(JSON.stringify(state, null, 1)).digest('hex');
}

/** The folder name of the checkpoint taken at `step`. */
export function checkpointName(step: number): string {
  return `ckpt-${String(step).padStart(6, '0')}`;
}

/**
 * Saves `data` as a new checkpoint under `dir` and points latest.json at it. Keeps the newest
 * `keep` checkpoints (default 2). Returns the checkpoint's folder.
 */
export function saveCheckpoint(dir: string, data: CheckpointData, opts: { keep?: number; protect?: string | null } = {}): string {
  fs.mkdirSync(dir, { recursive: true });
  const name = checkpointName(data.step);
  const tmp = path.join(dir, `.tmp-${name}-${process.pid}-${Date.now()}`);
  fs.mkdirSync(tmp);
  const files: Record<string, number> = {};
  const weights: Record<string, Tensor> = {};
  for (const [prefix, m] of Object.entries(data.modules)) for (const [n, t] of Object.entries(m.stateDict())) weights[`${prefix}.${n}`] = t;
  files['weights.safetensors'] = writeSynced(path.join(tmp, 'weights.safetensors'), encodeSafetensors(weights, { format: CHECKPOINT_FORMAT, kind: data.kind }));
  const pause = Number(process.env.WORLDKIT_CHECKPOINT_PAUSE_MS ?? 0);
  if (pause > 0) {
    fs.writeFileSync(path.join(tmp, '.paused'), String(process.pid));
    sleepSync(pause);
  }
  let optJson: unknown = null;
  if (data.optimizer) {
    const parts = optimizerParts(data.optimizer.stateDict());
    files['optimizer.safetensors'] = writeSynced(path.join(tmp, 'optimizer.safetensors'), encodeSafetensors(parts.tensors));
    for (const t of Object.values(parts.tensors)) t.dispose();
    optJson = parts.json;
  }
  const extraJson: Record<string, unknown> = {};
  for (const [name, opt] of Object.entries(data.extraOptimizers ?? {})) {
    if (!EXTRA_NAME.test(name)) throw new TypeError(`saveCheckpoint: extraOptimizers key '${name}' must match ${EXTRA_NAME} (it names a file)`);
    const parts = optimizerParts(opt.stateDict());
    files[`optimizer.${name}.safetensors`] = writeSynced(path.join(tmp, `optimizer.${name}.safetensors`), encodeSafetensors(parts.tensors));
    for (const t of Object.values(parts.tensors)) t.dispose();
    extraJson[name] = parts.json;
  }
  const state = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    kind: data.kind,
    savedAt: new Date().toISOString(),
    config: data.config,
    epoch: data.epoch,
    batch: data.batch ?? 0,
    step: data.step,
    schedule: data.schedule ?? null,
    rng: data.rng ?? {},
    optimizer: optJson,
    ...(Object.keys(extraJson).length ? { optimizers: extraJson } : {}),
    metrics: data.metrics ?? [],
    trainer: data.trainer ?? {},
    files,
  };
  writeSynced(path.join(tmp, 'state.json'), JSON.stringify({ ...state, checksum: stateChecksum(state) }, null, 1));
  syncDir(tmp);
  const final = path.join(dir, name);
  if (fs.existsSync(final)) fs.rmSync(final, { recursive: true, force: true });
  renameAtomic(tmp, final);
  writeFileAtomic(path.join(dir, 'latest.json'), JSON.stringify({ format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, latest: name, step: data.step, epoch: data.epoch }) + '\n');
  // Prune: older checkpoints beyond `keep`, and stale temp folders of earlier crashed saves.
  const keep = Math.max(1, opts.keep ?? 2);
  const all = fs.readdirSync(dir).filter((f) => /^ckpt-\d+$/.test(f)).sort();
  // `protect`: the trainer's last checkpoint known to be good, kept until a newer one is.
  const keepToo = opts.protect ? path.basename(opts.protect) : null;
  for (const old of all.slice(0, Math.max(0, all.length - keep))) if (old !== name && old !== keepToo) fs.rmSync(path.join(dir, old), { recursive: true, force: true });
  for (const f of fs.readdirSync(dir)) if (f.startsWith('.tmp-ckpt-') && !f.includes(`-${process.pid}-`)) fs.rmSync(path.join(dir, f), { recursive: true, force: true });
  return final;
}

/**
 * Points latest.json at `folder` (a checkpoint under `dir`), atomically; null removes the
 * pointer. Used by the trainer after a divergence, so resuming never starts from weights that
 * gave a non-finite loss.
 */
export function setLatestCheckpoint(dir: string, folder: string | null, step = 0, epoch = 0): void {
  const pointer = path.join(dir, 'latest.json');
  if (folder === null) {
    fs.rmSync(pointer, { force: true });
    return;
  }
  writeFileAtomic(pointer, JSON.stringify({ format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, latest: path.basename(folder), step, epoch }) + '\n');
}

/** The checkpoint folder latest.json points to under `dir`, or null when there is none. */
export function latestCheckpoint(dir: string): string | null {
  const pointer = path.join(dir, 'latest.json');
  if (!fs.existsSync(pointer)) return null;
  let p: { format?: string; latest?: string };
  try {
    p = JSON.parse(fs.readFileSync(pointer, 'utf8'));
  } catch (e) {
    throw new CheckpointError(`${pointer}: not valid JSON (${(e as Error).message})`);
  }
  if (p.format !== CHECKPOINT_FORMAT || typeof p.latest !== 'string' || !/^ckpt-\d+$/.test(p.latest))
    throw new CheckpointError(`${pointer}: not a worldkit checkpoint pointer (expected {"format":"${CHECKPOINT_FORMAT}","latest":"ckpt-N"})`);
  return path.join(dir, p.latest);
}

function need(cond: unknown, where: string, what: string): asserts cond {
  if (!cond) throw new CheckpointError(`${where}: ${what}`);
}

/**
 * Loads a checkpoint: `p` is a checkpoint folder (ckpt-N) or a run folder holding latest.json.
 * Throws CheckpointError naming the file and what is wrong.
 */
export function loadCheckpoint(p: string): LoadedCheckpoint {
  if (typeof p !== 'string' || p === '') throw new TypeError(`loadCheckpoint: path must be a checkpoint folder (a run folder with latest.json, or ckpt-N), got ${p === '' ? 'an empty string' : typeof p}`);
  if (!fs.existsSync(p)) throw new CheckpointError(`${p}: no such checkpoint (folder not found)`);
  let folder = p;
  if (fs.statSync(p).isDirectory() && !fs.existsSync(path.join(p, 'state.json'))) {
    const l = latestCheckpoint(p);
    need(l, p, 'no checkpoint here (neither state.json nor latest.json)');
    folder = l;
  } else if (!fs.statSync(p).isDirectory()) {
    throw new CheckpointError(`${p}: a checkpoint is a folder (ckpt-N or a run folder with latest.json), this is a file`);
  }
  need(fs.existsSync(folder), folder, 'latest.json points to a checkpoint folder that does not exist');
  const stateFile = path.join(folder, 'state.json');
  need(fs.existsSync(stateFile), folder, 'state.json is missing');
  let s: Record<string, unknown>;
  try {
    s = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
  } catch (e) {
    throw new CheckpointError(`${stateFile}: not valid JSON (${(e as Error).message})`);
  }
  need(s && typeof s === 'object' && !Array.isArray(s), stateFile, 'must be a JSON object');
  if ('checksum' in s) {
    const { checksum, ...rest } = s;
    need(checksum === stateChecksum(rest), stateFile, 'checksum mismatch: the file was changed or damaged after it was written');
  }
  need(s.format === CHECKPOINT_FORMAT, stateFile, `format is ${JSON.stringify(s.format)}, expected "${CHECKPOINT_FORMAT}"`);
  need(s.version === CHECKPOINT_VERSION, stateFile, `version ${JSON.stringify(s.version)} is not supported (this worldkit reads version ${CHECKPOINT_VERSION})`);
  for (const k of ['epoch', 'step', 'batch'] as const) need(Number.isInteger(s[k]) && (s[k] as number) >= 0, stateFile, `${k} must be an integer >= 0, got ${JSON.stringify(s[k])}`);
  need(typeof s.kind === 'string', stateFile, 'kind is missing');
  need(s.config && typeof s.config === 'object', stateFile, 'config is missing');
  const isObj = (v: unknown) => !!v && typeof v === 'object' && !Array.isArray(v);
  need(s.rng === undefined || isObj(s.rng), stateFile, `rng must be an object of generator states, got ${JSON.stringify(s.rng)}`);
  need(s.metrics === undefined || Array.isArray(s.metrics), stateFile, `metrics must be an array, got ${JSON.stringify(s.metrics)}`);
  need(s.trainer === undefined || isObj(s.trainer), stateFile, `trainer must be an object, got ${JSON.stringify(s.trainer)}`);
  need(s.schedule === undefined || s.schedule === null || isObj(s.schedule), stateFile, `schedule must be an object or null, got ${JSON.stringify(s.schedule)}`);
  need(isObj(s.files), stateFile, 'files (the list of files with their sizes) is missing');
  const files = s.files as Record<string, number>;
  for (const [f, size] of Object.entries(files)) {
    const extra = /^optimizer\.(.+)\.safetensors$/.exec(f);
    need(f === 'weights.safetensors' || f === 'optimizer.safetensors' || (extra && EXTRA_NAME.test(extra[1])), stateFile, `lists an unknown file '${f}'`);
    need(Number.isSafeInteger(size) && size >= 0, stateFile, `files['${f}'] must be a byte count, got ${JSON.stringify(size)}`);
    const fp = path.join(folder, f);
    need(fs.existsSync(fp), fp, 'missing (listed in state.json)');
    const actual = fs.statSync(fp).size;
    need(actual === size, fp, `has ${actual} bytes, state.json says ${size} (truncated or replaced)`);
  }
  const readST = (f: string): Record<string, Tensor> => {
    const fp = path.join(folder, f);
    try {
      const b = fs.readFileSync(fp);
      return decodeSafetensors(new Uint8Array(b.buffer, b.byteOffset, b.byteLength), fp).tensors;
    } catch (e) {
      throw new CheckpointError(`${fp}: ${(e as Error).message}`);
    }
  };
  need('weights.safetensors' in files, stateFile, 'lists no weights.safetensors');
  const weights = readST('weights.safetensors');
  // Trainers never save non-finite weights; one here (an older worldkit, or another writer) would
  // only surface later as a NaN loss or a NaN rollout.
  const floats = Object.values(weights).filter((t) => t.dtype === 'float32');
  if (floats.length && !Number.isFinite(native.sumSquares(floats.map((t) => t.f32())))) {
    for (const [name, t] of Object.entries(weights)) {
      if (t.dtype !== 'float32') continue;
      const d = t.f32();
      const i = d.findIndex((v) => !Number.isFinite(v));
      if (i >= 0) {
        for (const u of Object.values(weights)) u.dispose();
        throw new CheckpointError(`${path.join(folder, 'weights.safetensors')}: tensor '${name}' holds ${d[i]} at flat index ${i}: the weights are not finite`);
      }
    }
  }
  /** An optimizer entry of state.json (`where` names it) with its tensors file. */
  const readOptimizer = (raw: unknown, where: string, file: string): OptimizerStateDict => {
    const o = raw as { type: string; lr: number; options: OptimizerStateDict['options']; state: (Record<string, number | string> | null)[] };
    need(isObj(o) && typeof o.type === 'string' && Array.isArray(o.state), stateFile, `${where} entry is malformed`);
    need(typeof o.lr === 'number' && Number.isFinite(o.lr) && o.lr >= 0, stateFile, `${where}.lr must be a finite number >= 0, got ${JSON.stringify(o.lr)}`);
    need(o.options === undefined || isObj(o.options), stateFile, `${where}.options must be an object`);
    o.state.forEach((st, i) => need(st === null || isObj(st), stateFile, `${where}.state[${i}] must be an object or null`));
    need(file in files, stateFile, `has ${where} state but lists no ${file}`);
    const ot = readST(file);
    try {
      return {
        type: o.type,
        lr: o.lr,
        options: o.options,
        state: o.state.map((st, i) => {
          if (!st) return null;
          const c: SavedParamState = {};
          for (const [k, v] of Object.entries(st)) {
            if (typeof v === 'string' && v.startsWith('@')) {
              const t = Object.prototype.hasOwnProperty.call(ot, v.slice(1)) ? ot[v.slice(1)] : undefined;
              need(t, path.join(folder, file), `tensor '${v.slice(1)}' (state[${i}].${k}) is missing`);
              c[k] = t.f32().slice();
            } else {
              need(typeof v === 'number', stateFile, `${where}.state[${i}].${k} must be a number or a tensor reference, got ${JSON.stringify(v)}`);
              c[k] = v;
            }
          }
          return c;
        }),
      };
    } finally {
      for (const t of Object.values(ot)) t.dispose();
    }
  };
  let optimizer: OptimizerStateDict | null = null;
  const extraOptimizers: Record<string, OptimizerStateDict> = {};
  try {
    if (s.optimizer) optimizer = readOptimizer(s.optimizer, 'optimizer', 'optimizer.safetensors');
    need(s.optimizers === undefined || isObj(s.optimizers), stateFile, `optimizers must be an object of named optimizer states, got ${JSON.stringify(s.optimizers)}`);
    for (const [name, raw] of Object.entries((s.optimizers ?? {}) as Record<string, unknown>)) {
      need(EXTRA_NAME.test(name), stateFile, `optimizers has a bad name '${name}'`);
      extraOptimizers[name] = readOptimizer(raw, `optimizers.${name}`, `optimizer.${name}.safetensors`);
    }
  } catch (e) {
    for (const t of Object.values(weights)) t.dispose();
    throw e;
  }
  const ck: LoadedCheckpoint = {
    path: folder,
    name: path.basename(folder),
    kind: s.kind as string,
    config: s.config as Record<string, unknown>,
    epoch: s.epoch as number,
    batch: s.batch as number,
    step: s.step as number,
    schedule: s.schedule ?? null,
    rng: (s.rng ?? {}) as Record<string, GeneratorState>,
    metrics: (s.metrics ?? []) as unknown[],
    trainer: (s.trainer ?? {}) as Record<string, unknown>,
    weights,
    optimizer,
    extraOptimizers,
    moduleWeights(prefix: string) {
      const out: Record<string, Tensor> = {};
      const pre = `${prefix}.`;
      for (const [k, t] of Object.entries(weights)) if (k.startsWith(pre)) out[k.slice(pre.length)] = t;
      if (!Object.keys(out).length) throw new CheckpointError(`${path.join(folder, 'weights.safetensors')}: no weights for '${prefix}' (has: ${[...new Set(Object.keys(weights).map((k) => k.split('.')[0]))].join(', ')})`);
      return out;
    },
    dispose() {
      for (const t of Object.values(weights)) t.dispose();
    },
  };
  return ck;
}

/** Copies a module's weights out of a checkpoint (names are validated by loadStateDict). */
export function restoreModule(ck: LoadedCheckpoint, prefix: string, m: Module): void {
  try {
    m.loadStateDict(ck.moduleWeights(prefix));
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    throw new CheckpointError(`${path.join(ck.path, 'weights.safetensors')}: ${prefix}: ${(e as Error).message}`);
  }
}
