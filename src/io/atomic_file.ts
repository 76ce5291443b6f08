/**
 * Crash-safe file writes: write to a temporary file in the same folder, fsync it, then rename
 * over the target (rename is atomic on POSIX file systems), then fsync the folder. A crash at any
 * point leaves either the old file or the new one, never a torn mix.
 */
import * as fs from 'fs';
import * as path from 'path';

export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.tmp-${process.pid}-${Date.now()}`);
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  syncDir(dir);
}

/** Renames a fully written folder into place, then syncs the parent. */
export function renameAtomic(from: string, to: string): void {
  fs.renameSync(from, to);
  syncDir(path.dirname(to));
}

export function syncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // Some file systems do not allow fsync on folders; the rename is still atomic.
  }
}
