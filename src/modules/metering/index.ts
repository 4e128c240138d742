/** Metering: usage per billable metric and period, shared by billing, the usage endpoint and entitlements. */
export { usageForPeriod, usageForPeriods, type UsagePeriod, type UsageQuery } from './usage.ts';
export { backfillMetricRollups, moveRollupsCtes, rebuildUsageRollups, rollupCtes, rollupSourceReturning } from './rollups.ts';
