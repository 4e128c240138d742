/**
 * Checkout and the customer portal: the self-serve path to buy. Hosted checkout for public
 * plans (card, through the sandbox or a real processor; a declined card leaves nothing behind),
 * "Contact sales" hand-raises for the others, the portal (plan, usage against limits, invoices,
 * upgrades and downgrades, seats, card ↔ invoice, monthly → annual, cancel), and the upgrade
 * policy that decides when sales is alerted (large upgrades) or takes over (quote-only plans).
 */
export * from './checkout.ts';
export { createCheckoutSession, getCheckoutSession, listCheckoutSessions, openCheckout, checkoutOffer, completeCheckout, contactSalesFromCheckout, planIntervals, type CreateSessionInput, type CompleteInput, type Offer } from './sessions.service.ts';
export { raiseHand, listHandRaises, handRaiseView, type HandRaiseInput } from './hand-raise.service.ts';
export { getUpgradePolicy, updateUpgradePolicy, policyView, paymentOptions } from './policy.service.ts';
export { createPortalSession, openPortal, portalState, currentSubscription, type PortalState, type PlanOption, type UsageRow } from './portal.service.ts';
export {
  portalChangePlan,
  portalSeats,
  portalPaymentMethod,
  portalSwitchToAnnual,
  portalCancel,
  portalContactSales,
  portalInvoicePdf,
  type Portal,
  type PortalOutcome,
} from './portal-actions.service.ts';
export { checkoutSessionView, portalSessionView } from './views.ts';
export { resolveBuyer, normalizeEmail } from './buyer.service.ts';
