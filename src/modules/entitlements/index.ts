/** Entitlements: "may account A use feature F, how much is left?", and usage against limits. */
export * from './entitlements.ts';
export {
  accountUsage,
  checkEntitlement,
  checkEntitlementBounded,
  checkEntitlementNow,
  clearEntitlementCache,
  invalidateWorkspace,
  refreshAccounts,
} from './entitlements.service.ts';
export { followEntitlements, type EntitlementFollower } from './followers.ts';
export { ENTITLEMENT_CACHE_MS, REFRESH_AFTER_MS, REFRESH_ALONG_MS } from './slot-cache.ts';
export { registerEntitlements } from './register.ts';
export { checkThresholds, THRESHOLDS } from './thresholds.service.ts';
