/**
 * Quotes: the sales-led path. Lines from a plan version with negotiated prices and discounts,
 * free months, term, start date, payment terms, expiry; approval rules; a signed share page
 * where the buyer accepts; acceptance converts into a new subscription at contract start or an
 * amendment of the running one at its renewal ("convert on renewal"). The quote's first-invoice
 * preview is computed by billing's own compute path, so it equals the first real invoice.
 */
export * from './quotes.ts';
export { priceQuote, approvalReasons, freeMonthsCredit, periodsInTerm, type QuotePricing, type PricedLine } from './compute/pricing.ts';
export { createQuote, updateQuote, deleteQuote, getQuote, listQuotes, requestQuote, resolvePlanRef } from './quotes.service.ts';
export { submitQuote, approveQuote, sendQuote, declineQuote, expireQuote } from './transitions.service.ts';
export { acceptQuote, type AcceptanceInput } from './acceptance.service.ts';
export { previewQuote, contractFor, runningSubscription, type QuotePreview } from './preview.service.ts';
export { presentPreview } from './present.ts';
export { getApprovalRules, updateApprovalRules, quoteShareToken, openSharedQuote, type ApprovalRules } from './settings.service.ts';
export { quoteView, quoteSnapshot, previewView, type PreviewView } from './views.ts';
export { quotePdf } from './pdf.ts';
export { registerQuotes } from './register.ts';
export { inTransaction } from './transaction-ctx.ts';
export { linkToken, macMatches, parseLinkToken, signId } from './tokens.ts';
