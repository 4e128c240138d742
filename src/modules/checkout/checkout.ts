import type { checkoutSessions, handRaises, portalSessions } from '../../db/schema/index.ts';
import type { Money } from '../../kernel/money.ts';
import type { Motion } from '../catalog/index.ts';

/**
 * Self-serve buying: hosted checkout sessions (public plans; "Contact sales" for the others),
 * customer-portal sessions, hand-raises, and the workspace's upgrade policy — how far a
 * customer may go alone before sales is told (a large upgrade) or must take over (a quote).
 */
export type CheckoutSession = typeof checkoutSessions.$inferSelect;
export type PortalSession = typeof portalSessions.$inferSelect;
export type HandRaise = typeof handRaises.$inferSelect;

export type CheckoutStatus = 'open' | 'complete' | 'expired';

/** Stored status is open/complete; an open session past its expiry reads as expired. */
export function sessionStatus(s: Pick<CheckoutSession, 'status' | 'expiresAt'>, asOf: Date): CheckoutStatus {
  if (s.status === 'complete') return 'complete';
  return asOf >= s.expiresAt ? 'expired' : 'open';
}

export interface UpgradePolicy {
  largeUpgradeArrThreshold: Money;
  /** Decimal string, e.g. "10": monthly → annual in the portal costs the annual prices less 10 %. */
  annualCommitmentDiscountPercent: string;
  netTermsAllowedMotions: Motion[];
  cardAllowedMotions: Motion[];
  netTermsDays: number[];
}

/**
 * The defaults follow the hybrid model: SMB (self-serve) pays by card; mid-market
 * (sales-assisted) by card or invoice; enterprise (sales-led) by invoice on Net terms. An
 * in-app change adding $5,000 or more of ARR also alerts sales.
 */
export const DEFAULT_UPGRADE_POLICY: UpgradePolicy = {
  largeUpgradeArrThreshold: { amount: 500_000, currency: 'usd' },
  annualCommitmentDiscountPercent: '10',
  netTermsAllowedMotions: ['sales_assisted', 'sales_led'],
  cardAllowedMotions: ['self_serve', 'sales_assisted'],
  netTermsDays: [30, 45, 60],
};

export const CHECKOUT_TOKEN_PURPOSE = 'checkout';
export const PORTAL_TOKEN_PURPOSE = 'portal';
/** Default lifetimes, on the workspace clock. */
export const CHECKOUT_TTL_MINUTES = 24 * 60;
export const PORTAL_TTL_MINUTES = 24 * 60;
