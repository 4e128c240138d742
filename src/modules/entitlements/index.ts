/** Entitlements: "may account A use feature F, how much is left?", and usage against limits. */
export * from './entitlements.ts';
export { accountUsage, checkEntitlement, checkEntitlementNow, clearEntitlementCache, invalidateWorkspace, refreshAccounts } from './entitlements.service.ts';
export { registerEntitlements } from './register.ts';
export { checkThresholds, THRESHOLDS } from './thresholds.service.ts';
