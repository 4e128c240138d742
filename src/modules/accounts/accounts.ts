/** Accounts (companies), contacts (people), their links, and the account timeline. */
import { toDate, toDateOrNull } from '../../db/sql.ts';

export const SEGMENTS = ['smb', 'mid_market', 'enterprise'] as const;
export const MOTIONS = ['self_serve', 'sales_assisted', 'sales_led'] as const;
export type Segment = (typeof SEGMENTS)[number];
export type Motion = (typeof MOTIONS)[number];

/** How a contact got its account: latest group call / set by the API, traits.company.id, email domain. */
export type LinkSource = 'group' | 'api' | 'company' | 'domain';
/** A link is only replaced by one of equal or higher rank (a group call always wins; its latest one). */
export const LINK_RANK: Record<LinkSource, number> = { group: 3, api: 3, company: 2, domain: 1 };

export interface Account {
  id: string;
  workspaceId: string;
  externalId: string | null;
  name: string | null;
  status: 'active' | 'merged';
  mergedInto: string | null;
  mergedAt: Date | null;
  employees: number | null;
  industry: string | null;
  country: string | null;
  segment: Segment | null;
  motion: Motion | null;
  ownerId: string | null;
  lifecycleStage: string | null;
  traits: Record<string, unknown>;
  traitsAt: Date | null;
  /** Claimed domains (email-domain resolution uses these). */
  domains: string[];
  createdAt: Date;
  updatedAt: Date;
}

/** The firmographic fields the API (and group traits) may set. */
export interface AccountFields {
  name?: string | null;
  employees?: number | null;
  industry?: string | null;
  country?: string | null;
  segment?: Segment | null;
  motion?: Motion | null;
  ownerId?: string | null;
  lifecycleStage?: string | null;
}

export interface Contact {
  id: string;
  workspaceId: string;
  userId: string | null;
  email: string | null;
  emailDomain: string | null;
  name: string | null;
  companyExternalId: string | null;
  traits: Record<string, unknown>;
  traitsAt: Date | null;
  accountId: string | null;
  accountSource: LinkSource | null;
  accountLinkedAt: Date | null;
  anonymousIds: string[];
  createdAt: Date;
  updatedAt: Date;
}

export type TimelineItemType = 'event' | 'identity' | 'merge';

export interface TimelineItem {
  id: string;
  type: TimelineItemType;
  occurredAt: Date;
  summary: string;
  data: Record<string, unknown>;
}

export interface DuplicateGroup {
  domain: string;
  accountIds: string[];
}

export interface MergeResult {
  account: Account;
  merged: Account;
  moved: { events: number; contacts: number; domains: number; memberships: number; activity: number };
}


/** Maps a snake_case row of `accounts` (raw SQL) to an Account. */
export function accountFromRow(r: Record<string, unknown>, domains: string[]): Account {
  return {
    id: r.id as string,
    workspaceId: r.workspace_id as string,
    externalId: (r.external_id as string | null) ?? null,
    name: (r.name as string | null) ?? null,
    status: r.status as Account['status'],
    mergedInto: (r.merged_into as string | null) ?? null,
    mergedAt: toDateOrNull(r.merged_at),
    employees: r.employees === null || r.employees === undefined ? null : Number(r.employees),
    industry: (r.industry as string | null) ?? null,
    country: (r.country as string | null) ?? null,
    segment: (r.segment as Segment | null) ?? null,
    motion: (r.motion as Motion | null) ?? null,
    ownerId: (r.owner_id as string | null) ?? null,
    lifecycleStage: (r.lifecycle_stage as string | null) ?? null,
    traits: (r.traits as Record<string, unknown>) ?? {},
    traitsAt: toDateOrNull(r.traits_at),
    domains,
    createdAt: toDate(r.created_at),
    updatedAt: toDate(r.updated_at),
  };
}

export function contactFromRow(r: Record<string, unknown>, anonymousIds: string[]): Contact {
  return {
    id: r.id as string,
    workspaceId: r.workspace_id as string,
    userId: (r.user_id as string | null) ?? null,
    email: (r.email as string | null) ?? null,
    emailDomain: (r.email_domain as string | null) ?? null,
    name: (r.name as string | null) ?? null,
    companyExternalId: (r.company_external_id as string | null) ?? null,
    traits: (r.traits as Record<string, unknown>) ?? {},
    traitsAt: toDateOrNull(r.traits_at),
    accountId: (r.account_id as string | null) ?? null,
    accountSource: (r.account_source as LinkSource | null) ?? null,
    accountLinkedAt: toDateOrNull(r.account_linked_at),
    anonymousIds,
    createdAt: toDate(r.created_at),
    updatedAt: toDate(r.updated_at),
  };
}

/** The public shape used in audit rows and domain events. */
export function accountSnapshot(a: Account) {
  return {
    id: a.id,
    external_id: a.externalId,
    name: a.name,
    status: a.status,
    merged_into: a.mergedInto,
    domains: a.domains,
    employees: a.employees,
    industry: a.industry,
    country: a.country,
    segment: a.segment,
    motion: a.motion,
    owner_id: a.ownerId,
    lifecycle_stage: a.lifecycleStage,
  };
}

export function contactSnapshot(c: Contact) {
  return { id: c.id, user_id: c.userId, email: c.email, name: c.name, account: c.accountId, account_source: c.accountSource };
}
