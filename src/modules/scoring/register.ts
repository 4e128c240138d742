/**
 * Scoring's ingestion listener and jobs (see schedule.ts for when each runs). The jobs are
 * non-transactional: they read outside a transaction (a full recompute must not hold one open
 * for seconds) and write in short ones; each is idempotent — a rescore only writes what changed.
 * - afterIngest: marks the touched accounts dirty and queues the debounced flush;
 * - `scoring.flush`: rescores the workspace's dirty accounts (the per-event path);
 * - `scoring.sweep`: the fallback for ingestion paths that do not call the hook;
 * - `scoring.recompute`: every account (daily, and after a model version is activated or shadowed);
 * - `scoring.backtest`: runs one backtest;
 * - subscriber `scoring.accounts`: fit at signup (`account.created`) and on firmographic changes (`account.updated`).
 */
import type { Ctx } from '../../context.ts';
import type { JobContext, JobRegistry } from '../../jobs/registry.ts';
import { DAY_MS } from '../../kernel/dates.ts';
import { execOn } from '../events/index.ts';
import { getWorkspace } from '../workspaces/index.ts';
import { runBacktest } from './backtest.service.ts';
import { armRecompute, armScoring, armSweep, HOT_REST_FACTOR, hotWindow, nextMinute, scheduleFlush, scheduleRescore } from './schedule.ts';
import * as work from './work.repo.ts';
import { rescore, type RescoreStats } from './scoring.service.ts';

const FLUSH_BATCH = 5000;
const SWEEP_EVENTS = 20_000;

/**
 * Rescores the accounts marked dirty before this job's instant, in batches. Accounts marked while
 * it runs (their events are after this instant) get the next flush at once; accounts left waiting
 * on a hold — a batch holds its hot accounts (schedule.ts, "Pacing") — one at the workspace's
 * hot release, whichever comes first (`nextReady`).
 */
export async function flushDirty(ctx: Ctx): Promise<number> {
  const exec = execOn(ctx.deps.database);
  const clock = ctx.deps.clock;
  const started = clock.now().getTime();
  let total = 0;
  for (;;) {
    const ids = await work.takeDirty(exec, ctx.workspaceId, FLUSH_BATCH, ctx.asOf);
    if (ids.length === 0) break;
    const t0 = clock.now().getTime();
    let stats: RescoreStats;
    try {
      stats = await rescore(ctx, { accountIds: ids, reason: 'event' });
    } catch (e) {
      await work.markDirty(exec, ctx.workspaceId, ids, ctx.asOf); // back in the set for the next flush or sweep
      throw e;
    }
    const took = clock.now().getTime() - t0;
    if (took > 0) {
      // Every batch records its rescores (a manual test clock, which does not move during a flush, holds nothing).
      // Workspace time: this job's instant plus the time the flush has taken so far.
      const at = ctx.asOf.getTime() + (t0 + took - started);
      // The time the batch spent, as the pacing counts it: its duration, plus the time its
      // measure's halves ran at once — two connections busy count twice (schedule.ts, "Pacing").
      const spent = took + stats.measureOverlapMs;
      await work.holdAccounts(exec, ctx.workspaceId, ids, { at: new Date(at), hotSince: new Date(at - hotWindow(spent)), restMs: HOT_REST_FACTOR * spent });
    }
    total += ids.length;
  }
  const next = await work.nextReady(exec, ctx.workspaceId, ctx.asOf);
  if (next) await scheduleFlush(ctx.deps.database.db, { workspaceId: ctx.workspaceId, at: next, asOf: ctx.asOf, purpose: 'next' });
  return total;
}

/**
 * The fallback: accounts with events stored since the watermark are rescored. When hook-driven
 * flushes ran since the last sweep, ingestion calls the hook: the sweep only moves its watermark.
 */
export async function sweep(ctx: Ctx): Promise<{ found: boolean; more: boolean }> {
  const exec = execOn(ctx.deps.database);
  const state = await work.getState(exec, ctx.workspaceId);
  const hookActive = state.lastFlushAt !== null && (state.lastSweepAt === null || state.lastFlushAt.getTime() >= state.lastSweepAt.getTime());
  if (hookActive) {
    const newest = await work.newestEventId(exec, ctx.workspaceId);
    await work.setState(exec, ctx.workspaceId, ctx.asOf, { watermark: newest ?? undefined, sweptAt: ctx.asOf });
    return { found: false, more: false };
  }
  const { accountIds, lastId, events } = await work.accountsWithEventsAfter(exec, ctx.workspaceId, state.watermark ?? '', SWEEP_EVENTS);
  if (accountIds.length) await rescore(ctx, { accountIds, reason: 'event' });
  await flushDirty(ctx); // accounts a failed flush put back
  await work.setState(exec, ctx.workspaceId, ctx.asOf, { watermark: lastId ?? undefined, sweptAt: ctx.asOf });
  return { found: lastId !== null, more: events === SWEEP_EVENTS };
}

/**
 * Fit at signup (`account.created`) and after firmographic changes (`account.updated`), for the
 * accounts of these deliveries (one workspace, one instant): one rescore per reason, as each
 * delivery alone would do it — a rescore reads the account as it is now, whichever came first.
 */
async function rescoreAccounts(ctxs: JobContext[]): Promise<void> {
  const ctx = ctxs[0];
  const signups = new Set<string>();
  const updates = new Set<string>();
  for (const c of ctxs) {
    const accountId = (c.job.payload.data as { account?: { id?: string } } | undefined)?.account?.id;
    if (accountId) (c.job.payload.type === 'account.created' ? signups : updates).add(accountId);
  }
  if (signups.size) await rescore(ctx, { accountIds: [...signups], reason: 'signup' });
  if (updates.size) await rescore(ctx, { accountIds: [...updates], reason: 'firmographics' });
  if (signups.size) await armScoring(ctx.deps.database.db, ctx);
}

export function registerScoring(registry: JobRegistry): void {
  registry.afterIngest(async (ctx, accountIds) => {
    await scheduleRescore(ctx.deps.database.db, { workspaceId: ctx.workspaceId, accountIds, asOf: ctx.asOf });
  });

  registry.handle('scoring.flush', {
    transactional: false,
    async run(ctx) {
      // Recorded first: a sweep running meanwhile sees the hook at work and does not duplicate it.
      await work.setState(execOn(ctx.deps.database), ctx.workspaceId, ctx.asOf, { flushedAt: ctx.asOf });
      await flushDirty(ctx);
      await armRecompute(ctx.deps.database.db, ctx);
    },
  });

  registry.handle('scoring.sweep', {
    transactional: false,
    async run(ctx) {
      const r = await sweep(ctx);
      const ws = await getWorkspace(ctx.deps, ctx.workspaceId);
      // Live: every minute, always. Sandbox: only while it finds something (simulated time jumps).
      if (r.more) await armSweep(ctx.deps.database.db, ctx, new Date(ctx.asOf.getTime() + 1000));
      else if (!ws.sandbox || r.found) await armSweep(ctx.deps.database.db, ctx, nextMinute(ctx.asOf));
    },
  });

  registry.handle('scoring.recompute', {
    transactional: false,
    async run(ctx) {
      const stats = await rescore(ctx, { reason: 'recompute' });
      const exec = execOn(ctx.deps.database);
      await work.setState(exec, ctx.workspaceId, ctx.asOf, { recomputedAt: ctx.asOf });
      await work.pruneHolds(exec, ctx.workspaceId, new Date(ctx.asOf.getTime() - DAY_MS));
      // Windows and decay move only while some account has events inside a window.
      if (stats.withEvents > 0 || ctx.job.payload.reason !== 'daily') await armRecompute(ctx.deps.database.db, ctx);
    },
  });

  registry.handle('scoring.backtest', {
    transactional: false,
    async run(ctx) {
      await runBacktest(ctx, String(ctx.job.payload.backtest_id));
    },
  });

  registry.subscribe({
    name: 'scoring.accounts',
    types: ['account.created', 'account.updated'],
    handler: {
      transactional: false,
      run: (ctx: JobContext) => rescoreAccounts([ctx]),
      // Accounts created in bulk (an import, a burst of group calls): rescored set-based, a claimed batch at a time.
      runMany: rescoreAccounts,
    },
  });
}
