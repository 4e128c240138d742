import type { JobRegistry } from '../../jobs/registry.ts';
import { invalidateAccounts } from './entitlements.service.ts';
import { accountsOfJob, checkThresholdsMany, scheduleThresholdChecks } from './thresholds.service.ts';

/**
 * After events are stored for accounts: their cached entitlement answers are dropped in this
 * process, and they join the workspace's pending usage-threshold check (one job per workspace
 * at a time, carrying the set of accounts; see scheduleThresholdChecks).
 */
export function registerEntitlements(registry: JobRegistry): void {
  registry.afterIngest(async (ctx, accountIds) => {
    invalidateAccounts(ctx.workspaceId, accountIds);
    await scheduleThresholdChecks(ctx, accountIds);
  });
  registry.handle('entitlements.thresholds', {
    transactional: true,
    async run(tx, ctx) {
      await checkThresholdsMany(tx, ctx, accountsOfJob(ctx.job.payload));
    },
  });
}
