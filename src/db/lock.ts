import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';

/**
 * One owner process per embedded data directory. PGlite has no cross-process locking, and two
 * processes writing one directory silently lose rows, so the second process is refused.
 *
 * The lock is a file created with O_EXCL holding the owner's pid, host and start time. A lock
 * left by a process that no longer exists (kill -9, power loss) is taken over; a live owner's
 * lock never is.
 */
export class DataDirLockedError extends Error {
  constructor(
    readonly dir: string,
    readonly ownerPid: number,
    readonly ownerInfo: string,
  ) {
    super(
      `The data directory ${dir} is in use by another Tandem process (pid ${ownerPid}, ${ownerInfo}). ` +
        `An embedded database has exactly one owner: stop that process, talk to it over HTTP, ` +
        `or point this one at another directory (--data-dir / TANDEM_DATA_DIR) or at PostgreSQL (DATABASE_URL).`,
    );
    this.name = 'DataDirLockedError';
  }
}

export interface DataDirLock {
  readonly file: string;
  release(): void;
}

interface LockInfo {
  pid: number;
  host: string;
  started_at: string;
  port?: number;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function lockFilePath(dir: string): string {
  return path.join(dir, 'tandem.lock');
}

export function readLock(dir: string): LockInfo | null {
  try {
    return JSON.parse(readFileSync(lockFilePath(dir), 'utf8')) as LockInfo;
  } catch {
    return null;
  }
}

export function acquireDataDirLock(dir: string): DataDirLock {
  const file = lockFilePath(dir);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      const info: LockInfo = { pid: process.pid, host: hostname(), started_at: new Date().toISOString() };
      writeSync(fd, JSON.stringify(info));
      closeSync(fd);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        const current = readLock(dir);
        if (current?.pid === process.pid) {
          try {
            unlinkSync(file);
          } catch {
            /* already gone */
          }
        }
      };
      process.once('exit', release);
      return { file, release };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const owner = readLock(dir);
      if (owner && owner.pid !== process.pid && owner.host === hostname() && !isAlive(owner.pid)) {
        // Stale lock from a dead process: remove it and try again (O_EXCL decides any race).
        try {
          unlinkSync(file);
        } catch {
          /* someone else removed it first */
        }
        continue;
      }
      if (!owner) {
        // The owner is between creating and writing the file; give it a moment.
        const until = Date.now() + 50;
        while (Date.now() < until) {
          /* spin briefly */
        }
        continue;
      }
      throw new DataDirLockedError(dir, owner.pid, owner.pid === process.pid ? 'this process' : `started ${owner.started_at} on ${owner.host}`);
    }
  }
  const owner = readLock(dir);
  throw new DataDirLockedError(dir, owner?.pid ?? -1, 'could not take the lock');
}
