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

/** A key's items waiting for a run, and its runs in flight. */
interface KeyState<I, R> {
  queue: Waiting<I, R>[];
  running: number;
}

export class Combiner<I, R> {
  private readonly keys = new Map<string, KeyState<I, R>>();

  /**
   * @param run processes a group in submission order; returns one settlement per item.
   * @param maxGroup upper bound on the items of one run (the rest waits for the next).
   * @param concurrency runs of one key in flight at most (default 1). With 2, an item arriving
   *   while one run is in flight starts a second at once; items arriving while both are in flight
   *   go together into whichever ends first.
   */
  constructor(
    private readonly run: (key: string, items: I[]) => Promise<Settled<R>[]>,
    private readonly maxGroup = 64,
    private readonly concurrency = 1,
  ) {}

  submit(key: string, item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      let state = this.keys.get(key);
      if (!state) this.keys.set(key, (state = { queue: [], running: 0 }));
      state.queue.push({ item, resolve, reject });
      if (state.running < this.concurrency) void this.drain(key, state);
    });
  }

  private async drain(key: string, state: KeyState<I, R>): Promise<void> {
    state.running++;
    try {
      while (state.queue.length) {
        const group = state.queue.splice(0, this.maxGroup);
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
      state.running--;
      if (state.running === 0 && state.queue.length === 0) this.keys.delete(key);
    }
  }
}
