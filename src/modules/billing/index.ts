/**
 * Billing: subscriptions (trials, changes with proration, scheduled changes, cancellation,
 * collection by card or on Net terms), invoices (draft → open → paid / void / uncollectible,
 * numbering, credit notes, HTML and PDF), card collection with dunning, overdue detection,
 * renewals driven by the workspace clock, and bill runs that never bill a period twice.
 */
export * from './billing.ts';
export { createSubscription, changeSubscription, cancelSubscription, getSubscription, start, upcomingInvoice, type ChangeInput, type CreateSubscriptionInput } from './subscriptions.service.ts';
export { renewMany, type Renewed } from './renewal.service.ts';
export { createDraft, finalize, finalizeMany, issueInvoices, type DraftInput } from './invoices.finalize.ts';
export { issueCreditNote, markUncollectible, voidInvoice } from './invoices.service.ts';
export { collect, markOverdue, payInvoice } from './collection.service.ts';
export { runBillRun, type BillRunOptions, type BillRunResult } from './bill-run.service.ts';
export { registerBilling } from './register.ts';
export * from './billing.queries.ts';
export { invoiceView, subscriptionView, lineView, creditNoteView } from './views.ts';
export { totals, advanceLines, usageLines, prorationLines, recurringAmount, type BillableItem, type ComputedLine } from './compute/invoice.ts';
export { periodFrom, type Period, type Interval } from './compute/periods.ts';
export { prorate, remainingFraction } from './compute/proration.ts';
export { pricedPlan, planRenewal } from './plan.ts';
