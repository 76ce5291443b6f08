/**
 * `worldkit data <sim|mmnist|npz|png> ...`: generate or inspect a dataset, print a summary and
 * write a PNG contact sheet of a few sequences.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Command } from '../command';
import { UsageError } from '../flags';
import { Episode, channelsOf, episodeFrame } from '../../data/episode';
import { generateEpisodes, episodeCachePath, CURVE_NAMES, LANE_NAMES, SPEED_NAMES } from '../../data/driving_sim';
import { movingMnistEpisodes } from '../../data/moving_mnist';
import { loadNpzDataset, loadPngDataset, LoadResult } from '../../data/loaders';
import { contactSheet, encodePNG } from '../../io/png';

function histogram(eps: Episode[], k: number, names: readonly string[]): string {
  const counts = new Array(names.length).fill(0);
  let n = 0;
  for (const e of eps) {
    if (!e.labels) continue;
    for (let t = 0; t < e.length; ++t) {
      counts[e.labels[t * e.labelDim + k]]++;
      n++;
    }
  }
  return names.map((nm, i) => `${nm} ${((100 * counts[i]) / Math.max(1, n)).toFixed(1)}%`).join(', ');
}

/** Rows of evenly spaced frames from the first `rows` episodes. */
export function sheetOf(eps: Episode[], rows: number, cols: number, scale: number) {
  const picked = eps.filter((e) => e.length > 0).slice(0, rows);
  if (picked.length === 0) throw new Error('no frames to show');
  const grid = picked.map((e) => {
    const n = Math.min(cols, e.length);
    return Array.from({ length: n }, (_, i) => episodeFrame(e, n === 1 ? 0 : Math.round((i * (e.length - 1)) / (n - 1))));
  });
  return contactSheet(grid, picked[0].height, picked[0].width, 2, scale, channelsOf(picked[0]));
}

export const command: Command = {
  name: 'data',
  summary: 'generate or inspect a dataset (sim, mmnist, npz, png) and write a contact sheet',
  usage: `worldkit data <sim|mmnist|npz|png> [path] [flags]

  sim      episodes of the embedded driving simulator (scripted noisy driver), cached on disk
  mmnist   Moving MNIST sequences (2 digits, 64x64, 20 frames)
  npz      inspect World Models .npz episodes (a file or a folder of them)
  png      inspect a folder of PNG frames + actions.csv (or a folder of such folders)
Prints a summary (episodes, frames, labels, per-file errors) and writes a contact sheet PNG.`,
  flags: [
    { name: 'episodes', type: 'int', default: 8, help: 'sim: number of episodes' },
    { name: 'steps', type: 'int', default: 200, help: 'sim: steps per episode' },
    { name: 'count', type: 'int', default: 8, help: 'mmnist: number of sequences' },
    { name: 'split', type: 'string', default: 'train', choices: ['train', 'test'], help: 'mmnist: digit split' },
    { name: 'seed', type: 'int', default: 0, help: 'random seed' },
    { name: 'cache_dir', type: 'string', metavar: 'dir', help: 'sim: cache folder (default $WORLDKIT_CACHE or ~/.cache/worldkit)' },
    { name: 'no_cache', type: 'boolean', default: false, help: 'sim: do not read or write the cache' },
    { name: 'out', type: 'string', default: 'runs/data', metavar: 'dir', help: 'folder for the contact sheet' },
    { name: 'sheet', type: 'string', metavar: 'file.png', help: 'contact sheet path (default <out>/<kind>_sheet.png)' },
    { name: 'rows', type: 'int', default: 4, help: 'sequences in the contact sheet' },
    { name: 'cols', type: 'int', default: 8, help: 'frames per sequence in the contact sheet' },
    { name: 'scale', type: 'int', default: 2, help: 'pixel scale of the contact sheet' },
  ],
  run({ flags, positionals }, io) {
    const kind = positionals[0];
    if (!kind) throw new UsageError('which dataset? expected one of sim, mmnist, npz, png');
    const int = (k: string, lo = 1) => {
      const v = flags[k] as number;
      if (v < lo) throw new UsageError(`--${k} must be at least ${lo}, got ${v}`);
      return v;
    };
    let eps: Episode[];
    let load: LoadResult | null = null;
    const t0 = Date.now();
    if (kind === 'sim') {
      const o = {
        episodes: int('episodes'),
        steps: int('steps'),
        seed: int('seed', 0),
        cacheDir: flags.no_cache ? (false as const) : ((flags.cache_dir as string | undefined) ?? undefined),
      };
      eps = generateEpisodes(o);
      if (!flags.no_cache) io.out(`cache: ${episodeCachePath(o)}`);
    } else if (kind === 'mmnist') {
      eps = movingMnistEpisodes({ count: int('count'), seed: int('seed', 0), split: flags.split as 'train' | 'test' }); // gray, generated in chunks
    } else if (kind === 'npz' || kind === 'png') {
      const target = positionals[1];
      if (!target) throw new UsageError(`${kind} needs a path: worldkit data ${kind} <file-or-folder>`);
      if (!fs.existsSync(target)) throw new UsageError(`no such file or folder: ${target}`);
      load = kind === 'npz' ? loadNpzDataset(target) : loadPngDataset(target);
      eps = load.episodes;
      for (const n of load.notes) io.out(`note: ${n}`);
      for (const e of load.errors) io.err(`error: ${e.file}: ${e.message}`);
    } else throw new UsageError(`unknown dataset '${kind}' (expected sim, mmnist, npz or png)`);
    const frames = eps.reduce((a, e) => a + e.length, 0);
    const e0 = eps[0];
    io.out(`${kind}: ${eps.length} episodes, ${frames} frames${e0 ? ` of ${e0.height}x${e0.width}x${channelsOf(e0)}, ${e0.actionDim} action values, ${e0.labelDim} labels` : ''} (${Date.now() - t0} ms)`);
    if (kind === 'sim') {
      io.out(`  lane:  ${histogram(eps, 0, LANE_NAMES)}`);
      io.out(`  curve: ${histogram(eps, 1, CURVE_NAMES)}`);
      io.out(`  speed: ${histogram(eps, 2, SPEED_NAMES)}`);
      const lens = eps.map((e) => e.length);
      io.out(`  episode lengths: min ${Math.min(...lens)}, max ${Math.max(...lens)}`);
    }
    if (eps.length === 0) {
      io.err(`no episode loaded${load ? ` (${load.errors.length} files with errors)` : ''}`);
      return 1;
    }
    const sheet = (flags.sheet as string | undefined) ?? path.join(flags.out as string, `${kind}_sheet.png`);
    fs.mkdirSync(path.dirname(path.resolve(sheet)), { recursive: true });
    fs.writeFileSync(sheet, encodePNG(sheetOf(eps, int('rows'), int('cols'), int('scale'))));
    io.out(`contact sheet: ${sheet}`);
    return load && load.errors.length > 0 ? 1 : 0;
  },
};
