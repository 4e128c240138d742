import type { JobRegistry } from '../../jobs/registry.ts';
import { collect, markOverdue } from './collection.service.ts';
import { renewMany } from './renewal.service.ts';
import { start } from './subscriptions.service.ts';

/**
 * Billing's jobs, all due on the workspace clock:
 * - `billing.start` at a scheduled subscription's start date (first invoice, then renewals);
 * - `billing.renew` at each period end (renewal invoice, scheduled changes, trial end, cancel at period end);
 * - `billing.collect` to charge a card invoice (attempt 1 at finalization, then the dunning retries);
 * - `billing.overdue` at a Net-terms invoice's due date.
 */
export function registerBilling(registry: JobRegistry): void {
  registry.handle('billing.renew', {
    transactional: true,
    async run(tx, ctx) {
      await renewMany(tx, ctx, [String(ctx.job.payload.subscription_id)]);
    },
  });
  registry.handle('billing.start', {
    transactional: true,
    async run(tx, ctx) {
      await start(tx, ctx, String(ctx.job.payload.subscription_id));
    },
  });
  registry.handle('billing.collect', {
    // The charge is a side effect: it runs outside a transaction, idempotent by (invoice, attempt).
    transactional: false,
    async run(ctx) {
      await collect(ctx, String(ctx.job.payload.invoice_id), Number(ctx.job.payload.attempt));
    },
  });
  registry.handle('billing.overdue', {
    transactional: true,
    async run(tx, ctx) {
      await markOverdue(tx, ctx, String(ctx.job.payload.invoice_id));
    },
  });
}
