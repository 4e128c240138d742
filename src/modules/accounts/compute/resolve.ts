import type { NormalizedMessage } from '../../events/index.ts';
import type { LinkSource } from '../accounts.ts';
import { candidateDomains, emailDomain } from './domains.ts';

/** What a message says about its company, before any lookup. */
export interface IdentityHints {
  /** group call's groupId, or context.groupId. */
  groupId: string | null;
  /** traits.company.id (identify) or context.traits.company.id. */
  companyId: string | null;
  /** Corporate domains from traits.email (identify) or context.traits.email, most specific first. */
  domains: string[];
  email: string | null;
}

/** A contact's stored link, as the batch lookup returns it. */
export interface StoredLink {
  contactId: string;
  accountId: string | null;
  source: LinkSource | null;
}

export interface Lookups {
  contactByUserId: Map<string, StoredLink>;
  contactByAlias: Map<string, StoredLink>;
  accountByExternalId: Map<string, string>;
  accountByDomain: Map<string, string>;
}

export type ResolvedVia = 'group_id' | 'membership' | 'company_id' | 'email_domain';

const obj = (v: unknown): Record<string, unknown> | null => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null);
const idOf = (v: unknown): string | null => (typeof v === 'string' && v !== '' && v.length <= 512 ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : null);

export function hintsOf(m: Pick<NormalizedMessage, 'type' | 'groupId' | 'traits' | 'context'>): IdentityHints {
  const ctxTraits = obj(m.context?.traits);
  // A group call's traits describe the company, not the user: only identify's traits are the user's.
  const userTraits = m.type === 'identify' ? m.traits : null;
  const companyId = idOf(obj(userTraits?.company)?.id) ?? idOf(obj(ctxTraits?.company)?.id);
  const rawEmail = typeof userTraits?.email === 'string' ? userTraits.email : typeof ctxTraits?.email === 'string' ? ctxTraits.email : null;
  const email = rawEmail ? rawEmail.trim().toLowerCase() : null;
  const domain = email ? emailDomain(email) : null;
  return { groupId: m.groupId, companyId, domains: domain ? candidateDomains(domain) : [], email };
}

/**
 * The account of one message, in order of precedence:
 *   1. its group id (group call's groupId or context.groupId),
 *   2. the user's latest group membership (or a link set through the API),
 *   3. traits.company.id, then a link the contact got that way,
 *   4. the corporate email domain (free mail never matches), then a link the contact got that way,
 *   5. none: stored unmatched, attached later when the user is identified or grouped.
 * The user is found by userId, or by anonymousId once an identify linked it.
 */
export function resolveAccount(
  m: Pick<NormalizedMessage, 'userId' | 'anonymousId'>,
  hints: IdentityHints,
  lookups: Lookups,
): { accountId: string | null; via: ResolvedVia | null } {
  if (hints.groupId) {
    const a = lookups.accountByExternalId.get(hints.groupId);
    if (a) return { accountId: a, via: 'group_id' };
  }
  const link = (m.userId && (lookups.contactByUserId.get(m.userId) ?? lookups.contactByAlias.get(m.userId))) || (m.anonymousId && lookups.contactByAlias.get(m.anonymousId)) || null;
  const linked = (sources: LinkSource[]) => (link?.accountId && link.source && sources.includes(link.source) ? link.accountId : null);
  const byMembership = linked(['group', 'api']);
  if (byMembership) return { accountId: byMembership, via: 'membership' };
  if (hints.companyId) {
    const a = lookups.accountByExternalId.get(hints.companyId);
    if (a) return { accountId: a, via: 'company_id' };
  }
  const byCompany = linked(['company']);
  if (byCompany) return { accountId: byCompany, via: 'company_id' };
  for (const d of hints.domains) {
    const a = lookups.accountByDomain.get(d);
    if (a) return { accountId: a, via: 'email_domain' };
  }
  const byDomain = linked(['domain']);
  if (byDomain) return { accountId: byDomain, via: 'email_domain' };
  return { accountId: null, via: null };
}
