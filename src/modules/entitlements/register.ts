import type { JobRegistry } from '../../jobs/registry.ts';
import { invalidateAccounts } from './entitlements.service.ts';
import { checkThresholds, scheduleThresholdChecks } from './thresholds.service.ts';

/**
 * After events are stored for accounts: their cached entitlement answers are dropped in this
 * process, and a usage-threshold check is queued for each.
 */
export function registerEntitlements(registry: JobRegistry): void {
  registry.afterIngest(async (ctx, accountIds) => {
    invalidateAccounts(ctx.workspaceId, accountIds);
    await scheduleThresholdChecks(ctx, accountIds);
  });
  registry.handle('entitlements.thresholds', {
    transactional: true,
    async run(tx, ctx) {
      await checkThresholds(tx, ctx, String(ctx.job.payload.account_id));
    },
  });
}
