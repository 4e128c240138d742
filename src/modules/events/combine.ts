/**
 * Flat combining ("group commit" in the application): callers submit items under a key; at most
 * one run per key is in flight, and everything submitted while it runs is handed to the next run
 * together. An idle key runs a lone item at once (no added latency when there is no load); under
 * load, N concurrent requests cost one run instead of N — one transaction, one lock hand-off, one
 * commit (fsync) — and the work queued behind a slow run is batched rather than serialized.
 *
 * `run` settles every item separately, so one bad item fails only its own caller.
 */
export type Settled<R> = { ok: true; value: R } | { ok: false; error: unknown };

interface Waiting<I, R> {
  item: I;
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
}

export class Combiner<I, R> {
  private readonly queues = new Map<string, Waiting<I, R>[]>();

  /**
   * @param run processes a group in submission order; returns one settlement per item.
   * @param maxGroup upper bound on the items of one run (the rest waits for the next).
   */
  constructor(
    private readonly run: (key: string, items: I[]) => Promise<Settled<R>[]>,
    private readonly maxGroup = 64,
  ) {}

  submit(key: string, item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const queue = this.queues.get(key);
      if (queue) {
        queue.push({ item, resolve, reject });
        return;
      }
      const fresh: Waiting<I, R>[] = [{ item, resolve, reject }];
      this.queues.set(key, fresh);
      void this.drain(key, fresh);
    });
  }

  private async drain(key: string, queue: Waiting<I, R>[]): Promise<void> {
    try {
      while (queue.length) {
        const group = queue.splice(0, this.maxGroup);
        let settled: Settled<R>[];
        try {
          settled = await this.run(key, group.map((w) => w.item));
        } catch (error) {
          settled = group.map(() => ({ ok: false as const, error }));
        }
        group.forEach((w, i) => {
          const s = settled[i];
          if (s?.ok) w.resolve(s.value);
          else w.reject(s ? s.error : new Error('combined run returned no result for an item'));
        });
      }
    } finally {
      this.queues.delete(key);
    }
  }
}
