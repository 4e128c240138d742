import type { JobRegistry } from '../jobs/registry.ts';
import { registerBilling } from './billing/index.ts';
import { registerScoring } from './scoring/index.ts';
import { registerQuotes } from './quotes/index.ts';
import { registerEntitlements } from './entitlements/index.ts';

/**
 * Each module that runs jobs, schedules recurring work or subscribes to domain events exports
 * `register(registry)` from its index.ts; list it here. Order does not matter.
 */
export const moduleRegistrations: Array<(registry: JobRegistry) => void> = [registerBilling];
moduleRegistrations.push(registerScoring);
moduleRegistrations.push(registerQuotes);
moduleRegistrations.push(registerEntitlements);
