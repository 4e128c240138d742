/**
 * The identity writes shared by ingestion, the accounts API and merges: creating accounts,
 * recording domains, linking contacts, and attaching a user's unmatched events once a link
 * exists. All run inside the caller's transaction.
 */
import type { Ctx, Db } from '../../context.ts';
import { publish, publishMany, type EventInput } from '../../jobs/outbox.ts';
import { newId } from '../../kernel/ids.ts';
import { attachUnmatchedEvents, type Exec } from '../events/index.ts';
import { recordAudit, recordAudits, type AuditInput } from '../workspaces/index.ts';
import * as repo from './accounts.repo.ts';
import { accountSnapshot, contactSnapshot, LINK_RANK, type AccountFields, type Contact, type LinkSource } from './accounts.ts';
import { candidateDomains } from './compute/domains.ts';
import type { IdentityRows } from './identity.rows.ts';

/** A command's transaction: drizzle `tx` (audit, outbox), raw `exec` on it, and the context. */
export interface TxCtx {
  tx: Db;
  exec: Exec;
  ctx: Ctx;
  /** When set, timeline items, audit rows and domain events are collected here and written by `flushDeferred`. */
  deferred?: DeferredWrites;
  /**
   * When set (ingestion's identity calls), the contacts and accounts they touch are staged here
   * (identity.rows.ts): their reads and writes go through it, and SQL of our own that reads those
   * tables flushes it first.
   */
  rows?: IdentityRows;
}

/**
 * Rows that nothing in the transaction reads back — timeline items, audit entries, domain events
 * — written at its end in one statement per table instead of one per row. Ingestion applies the
 * identity calls of many requests in one transaction under the workspace's identity lock, one
 * after another: every statement saved there is a round trip the whole workspace waits for
 * (a new user's identify wrote 4 such rows in 4 statements; now 0, and 3 at the end for the group).
 * The retroactive attachments of contacts' unmatched events are collected too (`attach`) and
 * applied in order by one statement (every identify and group call sweeps its contact: two
 * statements each, the UPDATE with its rollup CTEs ~3 ms on PGlite).
 */
export interface DeferredWrites {
  /** Each with the instant, actor and request of the command that collected it (`t.ctx` then). */
  activities: { id: string; input: repo.ActivityInput; at: Date }[];
  audits: AuditInput[];
  events: EventInput[];
  attach: { contactId: string; userId: string | null; accountId: string }[];
}

export function deferredWrites(): DeferredWrites {
  return { activities: [], audits: [], events: [], attach: [] };
}

/** Writes what `t.deferred` collected (in the order collected); a no-op without it. */
export async function flushDeferred(t: TxCtx): Promise<void> {
  const d = t.deferred;
  if (!d) return;
  t.deferred = deferredWrites();
  await attachMany(t, d.attach);
  await repo.addActivities(t.exec, t.ctx.workspaceId, d.activities, t.ctx.asOf);
  await recordAudits(t.tx, t.ctx, d.audits);
  await publishMany(t.tx, t.ctx, d.events);
}

async function audit(t: TxCtx, entry: AuditInput): Promise<void> {
  if (t.deferred) t.deferred.audits.push({ ...entry, of: t.ctx });
  else await recordAudit(t.tx, t.ctx, entry);
}

async function emit(t: TxCtx, type: string, data: Record<string, unknown>): Promise<void> {
  if (t.deferred) t.deferred.events.push({ type, data, at: t.ctx.asOf });
  else await publish(t.tx, t.ctx, type, data);
}

/**
 * Serializes the identity writes of one workspace (ingestion's identify/group/alias, the accounts
 * and contacts API, merges) with a transaction-scoped advisory lock. They are rare next to track
 * calls, and touch the same contacts and accounts in arbitrary orders: serialized, they cannot
 * deadlock. Track-only batches never take it.
 */
export async function lockIdentity(t: TxCtx): Promise<void> {
  // Held until the transaction ends: a second call in the same one (ingestion applies the identity
  // calls of several requests in one transaction) would only cost a round trip.
  const held = lockedIn.get(t.tx);
  if (held?.has(t.ctx.workspaceId)) return;
  await t.exec('SELECT pg_advisory_xact_lock(72539101, hashtext($1))', [t.ctx.workspaceId]);
  if (held) held.add(t.ctx.workspaceId);
  else lockedIn.set(t.tx, new Set([t.ctx.workspaceId]));
}

/** Workspaces whose identity lock a transaction (drizzle's `tx`, one object per transaction) holds. */
const lockedIn = new WeakMap<Db, Set<string>>();

const SOURCE_LABEL: Record<LinkSource, string> = { group: 'group call', api: 'API', company: 'traits.company.id', domain: 'email domain' };

export async function activity(t: TxCtx, a: repo.ActivityInput): Promise<void> {
  if (t.deferred) t.deferred.activities.push({ id: newId('actv'), input: a, at: t.ctx.asOf });
  else await repo.addActivity(t.exec, t.ctx.workspaceId, newId('actv'), a, t.ctx.asOf);
}

export interface NewAccount extends AccountFields {
  externalId: string | null;
  domains?: string[];
  origin: 'group' | 'api';
  occurredAt: Date;
}

/**
 * Creates accounts (skipping external ids that exist, which the caller looks up), each with an
 * audit row, an `account.created` domain event and a timeline item; contacts waiting on the
 * external id through traits.company.id are linked. Returns the ids created.
 */
export async function createAccounts(t: TxCtx, inputs: NewAccount[]): Promise<string[]> {
  const ws = t.ctx.workspaceId;
  const rows = inputs.map((i) => ({ id: newId('acct'), externalId: i.externalId, name: i.name ?? null }));
  const inserted = await repo.insertAccounts(t.exec, ws, rows, t.ctx.asOf);
  const created: string[] = [];
  for (const r of inserted) {
    const input = inputs[rows.findIndex((x) => x.id === r.id)];
    const { name: _name, externalId: _e, origin: _o, occurredAt: _at, domains, ...fields } = input;
    if (Object.values(fields).some((v) => v !== undefined)) await repo.updateAccount(t.exec, ws, r.id, fields, t.ctx.asOf);
    for (const domain of domains ?? []) await addAccountDomain(t, { accountId: r.id, domain, source: input.origin, occurredAt: input.occurredAt });
    const account = (await repo.loadAccount(t.exec, ws, r.id))!;
    await audit(t, { action: 'account.created', entityType: 'account', entityId: r.id, after: accountSnapshot(account) });
    await emit(t, 'account.created', { account: accountSnapshot(account) });
    await activity(t, {
      accountId: r.id,
      type: 'identity',
      kind: 'account_created',
      summary: input.origin === 'group' ? `Account created by a group call for '${input.externalId}'` : 'Account created',
      data: { origin: input.origin, external_id: input.externalId },
      occurredAt: input.occurredAt,
    });
    if (input.externalId) await linkWaitingOnCompany(t, r.id, input.externalId, input.occurredAt);
    created.push(r.id);
  }
  return created;
}

/**
 * Records a domain for an account; when it becomes the account's claimed domain, contacts with
 * that (or a sub-) email domain and no link yet are linked, and their events attached.
 */
export async function addAccountDomain(
  t: TxCtx,
  input: { accountId: string; domain: string; source: 'api' | 'group'; occurredAt: Date; dedupeKey?: string },
): Promise<{ added: boolean; claimed: boolean }> {
  if (t.rows?.hasDomain(input.accountId, input.domain)) return { added: false, claimed: false };
  const r = await repo.addDomain(t.exec, t.ctx.workspaceId, input.accountId, input.domain, input.source, t.ctx.asOf);
  if (!r.added) return r;
  t.rows?.noteDomain({ accountId: input.accountId, domain: input.domain, claimed: r.claimed });
  await activity(t, {
    accountId: input.accountId,
    type: 'identity',
    kind: 'domain_added',
    summary: r.claimed ? `Domain ${input.domain} added` : `Domain ${input.domain} added; another account already has it (listed in duplicates)`,
    data: { domain: input.domain, claimed: r.claimed, source: input.source },
    occurredAt: input.occurredAt,
    dedupeKey: input.dedupeKey,
  });
  if (r.claimed) await linkWaitingOnDomain(t, input.accountId, input.domain, input.occurredAt);
  return r;
}

/** Contacts whose email domain is `domain` or a subdomain of it, with no link yet. */
async function linkWaitingOnDomain(t: TxCtx, accountId: string, domain: string, at: Date): Promise<void> {
  await t.rows?.flush();
  const found = await t.exec(
    `SELECT * FROM contacts WHERE workspace_id = $1 AND account_id IS NULL AND (email_domain = $2 OR email_domain LIKE '%.' || $2)`,
    [t.ctx.workspaceId, domain],
  );
  for (const row of found) {
    const c = (await repo.loadContact(t.exec, t.ctx.workspaceId, row.id as string))!;
    // A more specific claimed domain elsewhere would have matched first: only take those whose best match is this one.
    const owners = await domainOwners(t, candidateDomains(c.emailDomain!));
    const best = candidateDomains(c.emailDomain!).find((d) => owners.has(d));
    if (best && owners.get(best) === accountId) await linkContact(t, c, { accountId, source: 'domain', at });
  }
}

/** Contacts that named this company (traits.company.id) before the account existed. */
async function linkWaitingOnCompany(t: TxCtx, accountId: string, externalId: string, at: Date): Promise<void> {
  await t.rows?.flush();
  const found = await t.exec<{ id: string }>(
    `SELECT id FROM contacts WHERE workspace_id = $1 AND company_external_id = $2 AND (account_id IS NULL OR account_source = 'domain')`,
    [t.ctx.workspaceId, externalId],
  );
  for (const { id } of found) await linkContact(t, (await repo.loadContact(t.exec, t.ctx.workspaceId, id))!, { accountId, source: 'company', at });
}

/**
 * Sets a contact's account link when the new one ranks at least as high as the current one
 * (group/API links change only for a later group call or API update). Adds a timeline item to
 * the account and attaches the user's unmatched events. Returns whether the link changed (when it
 * did not, attaching is the caller's business, e.g. after adding an anonymous id).
 */
export async function linkContact(
  t: TxCtx,
  c: Contact,
  link: { accountId: string; source: LinkSource; at: Date; dedupeKey?: string },
): Promise<boolean> {
  if (c.accountId && c.accountSource) {
    if (LINK_RANK[link.source] < LINK_RANK[c.accountSource]) return false;
    if (LINK_RANK[link.source] === 3 && c.accountLinkedAt && link.at < c.accountLinkedAt) return false; // an older group call: latest wins
    if (c.accountId === link.accountId && c.accountSource === link.source) {
      if (LINK_RANK[link.source] === 3 && (!c.accountLinkedAt || link.at > c.accountLinkedAt)) await setLink(t, c.id, link);
      return false; // unchanged: its events were attached when the link was made
    }
  }
  await setLink(t, c.id, link);
  await activity(t, {
    accountId: link.accountId,
    type: 'identity',
    kind: 'contact_linked',
    summary: `Contact ${c.email ?? c.userId ?? c.id} linked by ${SOURCE_LABEL[link.source]}`,
    data: { contact: c.id, user_id: c.userId, email: c.email, source: link.source, previous_account: c.accountId },
    occurredAt: link.at,
    dedupeKey: link.dedupeKey,
  });
  await attachContactEvents(t, c, link.accountId);
  return true;
}

async function setLink(t: TxCtx, contactId: string, link: { accountId: string; source: LinkSource; at: Date }): Promise<void> {
  const value = { accountId: link.accountId, source: link.source, linkedAt: link.at };
  if (t.rows?.hasContact(contactId)) t.rows.setContactLink(contactId, value);
  else await repo.setContactLink(t.exec, t.ctx.workspaceId, contactId, value, t.ctx.asOf);
}

/** Claimed owners of these domains (from the staged rows when there are). */
function domainOwners(t: TxCtx, domains: string[]): Promise<Map<string, string>> {
  return t.rows ? t.rows.domainOwners(domains) : repo.domainOwners(t.exec, t.ctx.workspaceId, domains);
}

/**
 * Retroactive attachment of a contact's unmatched events (its user id, aliases and anonymous ids).
 * Deferred to `flushDeferred` when the transaction collects its writes (the aliases are read
 * then: those the transaction added meanwhile count too); returns the events attached now.
 */
export async function attachContactEvents(t: TxCtx, c: Pick<Contact, 'id' | 'userId'>, accountId: string): Promise<number> {
  if (t.deferred) {
    t.deferred.attach.push({ contactId: c.id, userId: c.userId, accountId });
    return 0;
  }
  return attachMany(t, [{ contactId: c.id, userId: c.userId, accountId }]);
}

/** Attachments in order (an earlier one takes the events first; see attachUnmatchedEvents): one aliases read, one UPDATE. */
async function attachMany(t: TxCtx, items: DeferredWrites['attach']): Promise<number> {
  if (items.length === 0) return 0;
  const aliases = await repo.aliasesByContact(t.exec, t.ctx.workspaceId, [...new Set(items.map((i) => i.contactId))]);
  const byUserId: [string, string][] = [];
  const byAnonymousId: [string, string][] = [];
  for (const i of items) {
    const own = aliases.get(i.contactId) ?? [];
    if (i.userId) byUserId.push([i.userId, i.accountId]);
    for (const alias of own) {
      byUserId.push([alias, i.accountId]);
      byAnonymousId.push([alias, i.accountId]);
    }
  }
  return attachUnmatchedEvents(t.exec, { workspaceId: t.ctx.workspaceId, byUserId, byAnonymousId });
}

/**
 * The link a contact's own attributes give it: traits.company.id naming a known account, else
 * its corporate email domain (most specific claimed domain). Null when neither matches.
 */
export async function attributeLink(t: TxCtx, c: Pick<Contact, 'companyExternalId' | 'emailDomain'>): Promise<{ accountId: string; source: LinkSource } | null> {
  if (c.companyExternalId) {
    const id = c.companyExternalId;
    const a = t.rows ? await t.rows.accountByExternalId(id) : (await repo.accountsByExternalId(t.exec, t.ctx.workspaceId, [id])).get(id);
    if (a) return { accountId: a, source: 'company' };
  }
  if (c.emailDomain) {
    const candidates = candidateDomains(c.emailDomain);
    const owners = await domainOwners(t, candidates);
    const best = candidates.find((d) => owners.has(d));
    if (best) return { accountId: owners.get(best)!, source: 'domain' };
  }
  return null;
}

/** Audit + `contact.created` for a contact that ingestion or the API just created. */
export async function contactCreated(t: TxCtx, c: Contact): Promise<void> {
  await audit(t, { action: 'contact.created', entityType: 'contact', entityId: c.id, after: contactSnapshot(c) });
  await emit(t, 'contact.created', { contact: contactSnapshot(c) });
}
