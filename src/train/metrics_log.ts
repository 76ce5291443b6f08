/**
 * The metrics log: one JSON object per line (step, epoch, losses, lr, pTrue, step time, ...),
 * appended as training runs so it can be tailed, plotted or read back with readMetricsLog.
 */
import * as fs from 'fs';
import * as path from 'path';
import { writeFileAtomic } from '../io/atomic_file';

export interface MetricsRecord {
  kind: 'batch' | 'epoch' | 'validation' | 'event';
  step: number;
  epoch: number;
  [key: string]: unknown;
}

export class MetricsLog {
  private fd: number | null = null;
  constructor(public readonly file: string | null) {
    if (file) {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      this.fd = fs.openSync(file, 'a');
    }
  }
  write(rec: MetricsRecord): void {
    if (this.fd === null) return;
    fs.writeSync(this.fd, JSON.stringify({ time: new Date().toISOString(), ...rec }) + '\n');
  }
  /** Drops records after `step` (a resumed run rewrites what follows its checkpoint). */
  static truncateAfter(file: string, step: number): void {
    if (!fs.existsSync(file)) return;
    const keep = readMetricsLog(file).filter((r) => r && typeof r === 'object' && r.step <= step);
    // Atomically: a kill during a resume must not leave the log cut short.
    writeFileAtomic(file, keep.map((r) => JSON.stringify(r)).join('\n') + (keep.length ? '\n' : ''));
  }
  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}

/** Reads a metrics log; a torn last line (a crash mid-write) is skipped. */
export function readMetricsLog(file: string): MetricsRecord[] {
  const out: MetricsRecord[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      // torn line
    }
  }
  return out;
}
