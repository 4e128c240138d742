import type { JobRegistry } from '../../jobs/registry.ts';
import { invalidateAccounts } from './entitlements.service.ts';

/** New events for an account invalidate its cached entitlement answers in this process. */
export function registerEntitlements(registry: JobRegistry): void {
  registry.afterIngest((ctx, accountIds) => invalidateAccounts(ctx.workspaceId, accountIds));
}
