import type { Db } from '../../context.ts';

/** A caller waiting in a batch: what it asked for, and how to answer it. */
export interface Waiter<I, R> {
  input: I;
  resolve: (value: R) => void;
  reject: (error: unknown) => void;
}

/**
 * Loads asked for in the same turn of the event loop, per database and workspace, handed to
 * `flush` together on the next turn (setImmediate): hundreds of cache refreshes a second become
 * a few statements instead of a round trip each. `flush` must settle every waiter it is given.
 */
export class TickBatcher<I, R> {
  private due: Array<{ db: Db; workspaceId: string; waiters: Waiter<I, R>[] }> = [];
  private scheduled = false;

  constructor(private readonly flush: (db: Db, workspaceId: string, waiters: Waiter<I, R>[]) => void) {}

  load(db: Db, workspaceId: string, input: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      let batch = this.due.find((b) => b.db === db && b.workspaceId === workspaceId);
      if (!batch) this.due.push((batch = { db, workspaceId, waiters: [] }));
      batch.waiters.push({ input, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.run());
      }
    });
  }

  private run(): void {
    this.scheduled = false;
    const due = this.due;
    this.due = [];
    for (const b of due) {
      try {
        this.flush(b.db, b.workspaceId, b.waiters);
      } catch (e) {
        for (const w of b.waiters) w.reject(e);
      }
    }
  }
}
