/**
 * Durable storage for an embedded data directory.
 *
 * PGlite's NodeFS writes each page straight to a host file (fs.writeSync), but it cannot flush
 * one to disk: the filesystem's fsync is a no-op, and PGlite starts the server with `-F`
 * (fsync = off). A commit then sits in the OS page cache. That survives kill -9 of the server,
 * but not a power loss or a kernel crash, which could lose events already acknowledged with 200.
 *
 * Here fsync reaches the disk: the server starts with fsync on and `wal_sync_method = fsync`
 * (PGlite's fdatasync is a no-op with no hook, and fsync is the call that reaches the
 * filesystem), and the filesystem's fsync syncs the host file. A commit returns only once its WAL
 * is on disk, as on PostgreSQL, and checkpoints sync the data files before the WAL that covers
 * them is recycled.
 *
 * When. PGlite runs on the server's one JavaScript thread, and a synchronous fsync there stops
 * everything else the process does (the HTTP server, JSON, the job runner): ~1 ms per commit,
 * 3 s of a PGlite ingest run's profile. So a WAL file's fsync is not done inside the server's call
 * but recorded, and done in libuv's thread pool by `syncToFs`, which PGlite awaits at the end of
 * every query outside a transaction, and `openDatabase` after every transaction (PGlite skips it
 * there): the caller gets the result only once the WAL is on disk, and meanwhile the event loop
 * is free. Each `syncToFs` also waits for the fsyncs started before it, so a commit is never
 * acknowledged while WAL written before it is not on disk. The order a crash needs is kept: any
 * write to or fsync of another file (a data page evicted, a checkpoint's data files, pg_control,
 * a directory) first syncs all WAL recorded or being synced, synchronously, so nothing reaches the
 * disk before the WAL that covers it (PostgreSQL writes a data page only after flushing the WAL up
 * to its last change, and counts on that flush being durable); a WAL file with a recorded fsync is
 * synced before the server closes it.
 *
 * What changes: another query may see a commit before its WAL is on disk (for the ~1 ms the
 * fsync takes; PostgreSQL makes a commit visible only after its flush). The committer itself, and
 * anything that commits after it, is acknowledged only once it is durable.
 *
 * Failure. A failed fsync is fatal, as PostgreSQL treats it (after a failed fsync the kernel may
 * have dropped the dirty pages, and a later fsync can succeed over the hole): inside the server's
 * call it is reported as an I/O error; in `syncToFs` it fails that call and every later one, so
 * nothing more is acknowledged until the database is opened again (and recovers from its WAL).
 */
import fs from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { NodeFS } from '@electric-sql/pglite/nodefs';

interface Stream {
  nfd?: number;
  path?: string;
  node?: unknown;
}

/** The slice of Emscripten's module that this file touches. */
interface EmscriptenModule {
  NODEFS: {
    stream_ops: {
      fsync?: (stream: Stream) => number;
      close: (stream: Stream) => void;
      write: (stream: Stream, ...rest: unknown[]) => number;
    };
    tryFSOperation<T>(f: () => T): T;
    realPath(node: unknown): string;
  };
}

type InitResult = Awaited<ReturnType<NodeFS['init']>>;

const isWal = (p: string | undefined) => p !== undefined && /\/pg_wal\/[0-9A-F]{24}$/.test(p);

/** A node-style callback call as a promise (fs's callback API: the thread pool, as fs.promises, but one call per step). */
const call = <T = void>(f: (cb: (e: NodeJS.ErrnoException | null, v?: T) => void) => void) =>
  new Promise<T>((resolve, reject) => f((e, v) => (e ? reject(e) : resolve(v as T))));

/**
 * fsync of a host file by its path, in the thread pool (the server may close its own descriptor
 * meanwhile). A WAL file gone by then was recycled or removed by a checkpoint, which synced the
 * WAL before it (`syncWalNow`): nothing is left to sync.
 */
async function fsyncPath(file: string): Promise<void> {
  let fd: number;
  try {
    fd = await call<number>((cb) => fs.open(file, 'r+', cb));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  try {
    await call((cb) => fs.fsync(fd, cb));
  } finally {
    await call((cb) => fs.close(fd, cb));
  }
}

function fsyncPathNow(file: string): void {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r+');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export class DurableNodeFS extends NodeFS {
  /** WAL files the server wrote and "fsynced" since the last `syncToFs`: host path → its descriptor. */
  private readonly walToSync = new Map<string, number>();
  /** Each fsync batch running in the thread pool: its WAL files not yet known to be on disk. */
  private readonly syncing = new Set<Set<string>>();
  /** The fsyncs started so far, in order: each `syncToFs` waits for the ones before it too. */
  private synced: Promise<void> = Promise.resolve();
  private failed: Error | undefined;

  /** WAL files waiting for their fsync, or being synced (tests). */
  get pendingWal(): ReadonlySet<string> {
    return new Set([...this.walToSync.keys(), ...[...this.syncing].flatMap((batch) => [...batch])]);
  }

  override async init(...args: Parameters<NodeFS['init']>): Promise<InitResult> {
    const { emscriptenOpts } = await super.init(...args);
    const hook = (mod: EmscriptenModule) => {
      const ops = mod.NODEFS.stream_ops;
      const { close, write } = ops;
      ops.fsync = (stream) => {
        if (typeof stream.nfd !== 'number') return 0;
        if (isWal(stream.path)) {
          this.walToSync.set(mod.NODEFS.realPath(stream.node), stream.nfd);
          return 0;
        }
        // tryFSOperation turns a host error (EIO, ENOSPC) into the errno the server sees.
        mod.NODEFS.tryFSOperation(() => {
          this.syncWalNow();
          fs.fsyncSync(stream.nfd!);
        });
        return 0;
      };
      ops.write = (stream, ...rest) => {
        if ((this.walToSync.size || this.syncingAny()) && !isWal(stream.path)) mod.NODEFS.tryFSOperation(() => this.syncWalNow());
        return write(stream, ...rest);
      };
      ops.close = (stream) => {
        if (typeof stream.nfd === 'number' && this.walToSync.size) {
          const file = mod.NODEFS.realPath(stream.node);
          if (this.walToSync.get(file) === stream.nfd) {
            mod.NODEFS.tryFSOperation(() => fs.fsyncSync(stream.nfd!));
            this.walToSync.delete(file);
          }
        }
        close(stream);
      };
    };
    return { emscriptenOpts: { ...emscriptenOpts, preRun: [...(emscriptenOpts.preRun ?? []), hook] } };
  }

  /** All WAL recorded or being synced, on disk now (in the server's call, before any other file). */
  private syncWalNow(): void {
    for (const [file, fd] of this.walToSync) {
      fs.fsyncSync(fd);
      this.walToSync.delete(file);
    }
    // Being synced in the thread pool: synced here too, and then no later write waits for them again.
    for (const batch of this.syncing) {
      for (const file of batch) fsyncPathNow(file);
      batch.clear();
    }
  }

  private syncingAny(): boolean {
    for (const batch of this.syncing) if (batch.size) return true;
    return false;
  }

  /** Awaited after each query outside a transaction and after each transaction, before its result is handed back. */
  override async syncToFs(): Promise<void> {
    if (this.failed) throw this.failed;
    if (this.walToSync.size) {
      const files = [...this.walToSync.keys()];
      this.walToSync.clear();
      const batch = new Set(files);
      this.syncing.add(batch);
      const previous = this.synced;
      this.synced = (async () => {
        try {
          await previous;
          await Promise.all(files.map(fsyncPath));
        } catch (e) {
          this.failed ??= new Error(`the embedded database could not sync its WAL to disk (${(e as Error).message}); nothing more is acknowledged until it is opened again`);
        } finally {
          this.syncing.delete(batch);
        }
      })();
    }
    await this.synced;
    if (this.failed) throw this.failed;
  }
}

/** PGlite's own start parameters, with fsync on and the WAL synced by fsync. */
export const durableStartParams = (): string[] => [...PGlite.defaultStartParams.filter((p) => p !== '-F'), '-c', 'wal_sync_method=fsync'];

/**
 * `client.transaction` followed by the data directory's `syncToFs`: PGlite syncs after each
 * query outside a transaction, but not after a transaction's COMMIT.
 */
export function syncAfterTransactions(client: PGlite, durable: DurableNodeFS): void {
  const transaction = client.transaction.bind(client);
  client.transaction = (async (callback: Parameters<PGlite['transaction']>[0]) => {
    let result: unknown;
    try {
      result = await transaction(callback);
    } catch (e) {
      // Rolled back: it committed nothing, and its own error is the one to report.
      await durable.syncToFs().catch(() => undefined);
      throw e;
    }
    await durable.syncToFs();
    return result;
  }) as PGlite['transaction'];
}
