import type { JobRegistry } from '../../jobs/registry.ts';
import { applyFreeMonths, FREE_MONTHS_JOB_KIND } from './acceptance.service.ts';
import { expireQuote } from './transitions.service.ts';

/**
 * Quote jobs, due on the workspace clock:
 * - `quotes.expire` at a quote's `expires_at`: an open quote becomes expired;
 * - `quotes.free_months` just before a converted quote's contract start: its free-months credit note.
 */
export function registerQuotes(registry: JobRegistry): void {
  registry.handle('quotes.expire', {
    transactional: true,
    async run(tx, ctx) {
      await expireQuote(tx, ctx, String(ctx.job.payload.quote_id));
    },
  });
  registry.handle(FREE_MONTHS_JOB_KIND, {
    transactional: true,
    async run(tx, ctx) {
      await applyFreeMonths(tx, ctx, ctx.job.payload);
    },
  });
}
