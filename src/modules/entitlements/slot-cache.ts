/**
 * The entitlement cache's slots: one cached value per key with its age, the workspace instant it
 * was computed for, the end of its validity, and the read in flight — served while fresh,
 * refreshed ahead of expiry, read once for concurrent misses (single flight). The rules these
 * implement are set out in entitlements.service.ts (rules 3 and 4).
 */
import type { Ctx } from '../../context.ts';

/** How long a cached part (or an answer built from parts read at the same time) may serve: TANDEM_ENTITLEMENT_CACHE_MS, 1 s by default. */
export const ENTITLEMENT_CACHE_MS = Number(process.env.TANDEM_ENTITLEMENT_CACHE_MS ?? 1000);
export const REFRESH_AFTER_MS = ENTITLEMENT_CACHE_MS * 0.6;
/** Refreshed along with a refresh-ahead in the same workspace once this old. */
export const REFRESH_ALONG_MS = REFRESH_AFTER_MS / 2;
export const MAX_ENTRIES_PER_WORKSPACE = 50_000;

/** One cached value: when it was read, for which workspace instant, until when it may serve; and the read in flight. */
export interface Slot<T> {
  value?: T;
  /** Wall-clock ms when the read of `value` started. */
  wallAt: number;
  /** Workspace instant (ms) it was computed for. */
  asOf: number;
  /** Workspace instant (ms) from which it must not be served (end of the subscription period), or Infinity. */
  until: number;
  pending?: Promise<T>;
}

export const fresh = (wall: number, wallAt: number) => wall - wallAt < ENTITLEMENT_CACHE_MS;

function servable(slot: Slot<unknown>, wall: number, asOf: number): boolean {
  return slot.value !== undefined && fresh(wall, slot.wallAt) && asOf < slot.until && Math.abs(asOf - slot.asOf) < ENTITLEMENT_CACHE_MS;
}

/**
 * The cached value of `key` in `map` if it may be served now (starting a refresh-ahead when it is
 * old), else undefined. Synchronous: a check whose parts are all cached is answered in the same
 * turn of the event loop, without a promise per part.
 */
export function peek<T>(ctx: Ctx, map: Map<string, Slot<T>>, key: string, opts: CacheOpts<T>): T | undefined {
  const s = map.get(key);
  if (!s || opts.fresh) return undefined;
  const wall = ctx.deps.clock.now().getTime();
  const asOf = ctx.asOf.getTime();
  if (!servable(s, wall, asOf)) return undefined;
  if (!s.pending && wall - s.wallAt >= REFRESH_AFTER_MS) {
    startSlot(ctx, map, key, s, opts, wall, asOf);
    if (opts.refreshAlong) {
      for (const [k, o] of map) {
        if (o !== s && !o.pending && wall - o.wallAt >= REFRESH_ALONG_MS && servable(o, wall, asOf)) startSlot(ctx, map, k, o, opts, wall, asOf);
      }
    }
  }
  return s.value;
}

/** How one kind of entry is cached; one constant object per kind (no closure per check). */
export interface CacheOpts<T> {
  /** Reads the value of `key` (the workspace is ctx's). */
  load: (ctx: Ctx, key: string) => Promise<T>;
  fresh: boolean;
  until?: (v: T, asOf: number) => number;
  refreshAlong?: boolean;
}

/**
 * The cached value of `key` in `map` if it may be served (see `peek`), else the read in flight,
 * else a new read. A read stores its result only into the slot it started from: an invalidation
 * replaces the maps, so a read that began before it is never served after. Failed reads are not
 * remembered (an unknown account may be created the next moment).
 */
export function cached<T>(ctx: Ctx, map: Map<string, Slot<T>>, key: string, opts: CacheOpts<T>): Promise<T> {
  const now = peek(ctx, map, key, opts);
  if (now !== undefined) return Promise.resolve(now);
  let s = map.get(key);
  if (!s) {
    if (map.size >= MAX_ENTRIES_PER_WORKSPACE) map.clear();
    map.set(key, (s = { wallAt: 0, asOf: 0, until: 0 }));
  }
  // A read in flight started after the last invalidation (which replaced the maps): as good as a new one.
  return s.pending ?? startSlot(ctx, map, key, s, opts, ctx.deps.clock.now().getTime(), ctx.asOf.getTime(), true);
}

/** Reads `key` into slot `s` (started at `wall`, for workspace instant `asOf`); `wait`: the caller awaits it, else failures are logged. */
function startSlot<T>(
  ctx: Ctx,
  map: Map<string, Slot<T>>,
  key: string,
  s: Slot<T>,
  opts: CacheOpts<T>,
  wall: number,
  asOf: number,
  wait = false,
): Promise<T> {
  const until = opts.until;
  const p = opts.load(ctx, key).then(
    (value) => {
      if (s.pending === p) s.pending = undefined;
      Object.assign(s, { value, wallAt: wall, asOf, until: until ? until(value, asOf) : Infinity });
      return value;
    },
    (e: unknown) => {
      if (s.pending === p) s.pending = undefined;
      if (map.get(key) === s && s.value === undefined) map.delete(key);
      throw e;
    },
  );
  s.pending = p;
  if (!wait) p.catch((e: unknown) => ctx.deps.log.warn({ err: e instanceof Error ? e.message : String(e) }, 'entitlement cache refresh failed'));
  return p;
}
