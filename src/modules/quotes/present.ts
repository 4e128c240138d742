import type { Ctx } from '../../context.ts';
import { isAppError } from '../../kernel/errors.ts';
import { previewQuote } from './preview.service.ts';
import type { Quote, QuoteLine } from './quotes.ts';
import { previewView, type PreviewView } from './views.ts';

/**
 * The figures to show for a quote: once accepted, the first invoice as it was quoted and signed
 * (frozen); before, the live preview (the contract start moves with the running subscription).
 * A quote whose plan can no longer be priced (archived, say) shows none rather than failing.
 */
export async function presentPreview(ctx: Ctx, q: Quote, lines: readonly QuoteLine[]): Promise<PreviewView | null> {
  if (q.acceptedPreview) return q.acceptedPreview as unknown as PreviewView;
  try {
    return previewView(await previewQuote(ctx, q, lines));
  } catch (e) {
    if (isAppError(e)) return null;
    throw e;
  }
}
