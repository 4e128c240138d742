import type { JobRegistry } from '../../jobs/registry.ts';
import { refreshAccounts } from './entitlements.service.ts';
import { accountsOfJob, checkThresholdsMany, scheduleThresholdChecks } from './thresholds.service.ts';

/**
 * After events are stored for accounts (and committed), before the ingestion request answers:
 * their cached usage in this process is re-read (so a check after the acknowledgement sees the
 * events; see refreshAccounts), and they join the workspace's pending usage-threshold check (one
 * job per workspace at a time, carrying the set of accounts; see scheduleThresholdChecks).
 */
export function registerEntitlements(registry: JobRegistry): void {
  registry.afterIngest(async (ctx, accountIds) => {
    await Promise.all([refreshAccounts(ctx.workspaceId, accountIds, ctx.deps.database.db, ctx.deps.clock.now().getTime()), scheduleThresholdChecks(ctx, accountIds)]);
  });
  registry.handle('entitlements.thresholds', {
    transactional: true,
    async run(tx, ctx) {
      await checkThresholdsMany(tx, ctx, accountsOfJob(ctx.job.payload));
    },
  });
}
