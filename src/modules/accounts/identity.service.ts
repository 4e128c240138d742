/**
 * Identity resolution for ingestion (the events module's IdentityPort): set-based account
 * resolution for a whole batch, and the application of identify / group / alias calls.
 */
import type { Ctx, Db } from '../../context.ts';
import { keySet, toDate } from '../../db/sql.ts';
import { newId } from '../../kernel/ids.ts';
import { execIn, IDENTITY_TYPES, storedMessageIds, type ApplyPart, type Exec, type IdentityPort, type NormalizedMessage } from '../events/index.ts';
import * as repo from './accounts.repo.ts';
import { contactFromRow, type Contact, type LinkSource } from './accounts.ts';
import { emailDomain, isFreeMailDomain, normalizeDomain } from './compute/domains.ts';
import { hintsOf, resolveAccount, type Lookups, type StoredLink } from './compute/resolve.ts';
import { IdentityRows } from './identity.rows.ts';
import { activity, addAccountDomain, attachContactEvents, attributeLink, contactCreated, createAccounts, deferredWrites, flushDeferred, linkContact, lockIdentity, type TxCtx } from './identity.links.ts';

const distinct = (xs: Array<string | null | undefined>) => [...new Set(xs.filter((x): x is string => !!x))];
const str = (v: unknown, max = 1024): string | null => (typeof v === 'string' && v.trim() !== '' ? v.trim().slice(0, max) : null);
const obj = (v: unknown): Record<string, unknown> | null => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null);

/**
 * Everything the batch needs, in ONE query: the stored links of its users (by user id, and by
 * alias/anonymous id), the accounts of its group and company ids, and the owners of its email
 * domains.
 */
export async function batchLookup(exec: Exec, ws: string, q: { userIds: string[]; aliases: string[]; externalIds: string[]; domains: string[] }): Promise<Lookups> {
  const lookups: Lookups = { contactByUserId: new Map(), contactByAlias: new Map(), accountByExternalId: new Map(), accountByDomain: new Map() };
  if (!q.userIds.length && !q.aliases.length && !q.externalIds.length && !q.domains.length) return lookups;
  const found = await exec<{ k: string; key: string; contact_id: string | null; account_id: string | null; source: LinkSource | null }>(
    `SELECT 'u' AS k, keys.k AS key, c.id AS contact_id, coalesce(a.merged_into, a.id) AS account_id, c.account_source AS source
       FROM ${keySet('$2')},
            LATERAL (SELECT id, account_id, account_source FROM contacts WHERE workspace_id = $1 AND user_id = keys.k LIMIT 1) c
            LEFT JOIN LATERAL (SELECT id, merged_into FROM accounts WHERE id = c.account_id LIMIT 1) a ON true
     UNION ALL
     SELECT 'a', keys.k, c.id, coalesce(a.merged_into, a.id), c.account_source
       FROM ${keySet('$3')},
            LATERAL (SELECT contact_id FROM contact_aliases WHERE workspace_id = $1 AND alias = keys.k LIMIT 1) ca,
            LATERAL (SELECT id, account_id, account_source FROM contacts WHERE id = ca.contact_id LIMIT 1) c
            LEFT JOIN LATERAL (SELECT id, merged_into FROM accounts WHERE id = c.account_id LIMIT 1) a ON true
     UNION ALL
     SELECT 'x', keys.k, NULL, a.id, NULL
       FROM ${keySet('$4')},
            LATERAL (SELECT coalesce(merged_into, id) AS id FROM accounts WHERE workspace_id = $1 AND external_id = keys.k LIMIT 1) a
     UNION ALL
     SELECT 'd', keys.k, NULL, d.account_id, NULL
       FROM ${keySet('$5')},
            LATERAL (SELECT account_id FROM account_domains WHERE workspace_id = $1 AND claimed AND domain = keys.k LIMIT 1) d`,
    [ws, q.userIds, q.aliases, q.externalIds, q.domains],
  );
  for (const r of found) {
    const link: StoredLink = { contactId: r.contact_id!, accountId: r.account_id, source: r.account_id ? r.source : null };
    if (r.k === 'u') lookups.contactByUserId.set(r.key, link);
    else if (r.k === 'a') lookups.contactByAlias.set(r.key, link);
    else if (r.k === 'x') lookups.accountByExternalId.set(r.key, r.account_id!);
    else lookups.accountByDomain.set(r.key, r.account_id!);
  }
  return lookups;
}

/**
 * Group id → live account id, in memory, per database and workspace, valid while the workspace's
 * identity epoch stands still (schema `identityEpochs`: moved in the transaction of every merge
 * and external_id change, whichever process makes it). A lookup through it reads the epoch (one
 * row), forgets everything when it moved, and looks up only the group ids it does not hold —
 * those read together with the epoch, in one snapshot, so every entry is known valid at the
 * epoch it is kept under. What it answers is what looking every group id up at the moment of the
 * epoch read answers. (A merge committing between that moment and the INSERT leaves the rows on
 * the merged id: the same window as between a lookup and the INSERT.)
 *
 * Why: a 500-event batch of the ingest bench names ~370 group ids, and their lookup was ~1.9 ms
 * of database time per batch (5 µs a key), 7% of the database's time under `bench ingest`.
 * Unknown group ids are never kept (an account created for one is found by the next lookup).
 */
export class GroupAccounts {
  private epoch = -1;
  private readonly held = new Map<string, string>();

  async lookup(exec: Exec, workspaceId: string, groupIds: string[]): Promise<Map<string, string>> {
    const epoch = await repo.identityEpoch(exec, workspaceId);
    if (epoch > this.epoch) {
      this.held.clear();
      this.epoch = epoch;
    }
    // A concurrent lookup has moved memory past this one's read: it answers on its own.
    if (epoch < this.epoch) return (await repo.accountsByExternalIdAt(exec, workspaceId, groupIds)).accounts;
    const out = new Map<string, string>();
    const missing: string[] = [];
    for (const g of groupIds) {
      const a = this.held.get(g);
      if (a === undefined) missing.push(g);
      else out.set(g, a);
    }
    if (missing.length === 0) return out;
    const found = await repo.accountsByExternalIdAt(exec, workspaceId, missing);
    if (found.epoch !== epoch) {
      // Moved between the two reads: what memory answered may be stale. All of them again, fresh.
      const all = await repo.accountsByExternalIdAt(exec, workspaceId, groupIds);
      this.keep(all.epoch, all.accounts);
      return all.accounts;
    }
    for (const [g, a] of found.accounts) out.set(g, a);
    this.keep(found.epoch, found.accounts);
    return out;
  }

  /** Whether `groupId` is held (tests). */
  holds(groupId: string): boolean {
    return this.held.has(groupId);
  }

  /**
   * Keeps what was read at `epoch`, only if memory is at that epoch then (lookups interleave: one
   * read before a merge may finish after another that read past it).
   */
  private keep(epoch: number, accounts: Map<string, string>): void {
    if (epoch > this.epoch) {
      this.held.clear();
      this.epoch = epoch;
    }
    if (epoch !== this.epoch) return;
    if (this.held.size + accounts.size > GROUP_ACCOUNTS_HELD) this.held.clear();
    for (const [g, a] of accounts) this.held.set(g, a);
  }
}

/** Group ids held per workspace at most (~100 bytes each); past it, memory starts over. */
const GROUP_ACCOUNTS_HELD = 200_000;

const groupAccounts = new WeakMap<object, Map<string, GroupAccounts>>();

/** The memory of a workspace's group ids, for the database of `ctx` (one per process and database). */
export function groupAccountsOf(ctx: Ctx): GroupAccounts {
  let byWorkspace = groupAccounts.get(ctx.deps.database);
  if (!byWorkspace) groupAccounts.set(ctx.deps.database, (byWorkspace = new Map()));
  let g = byWorkspace.get(ctx.workspaceId);
  if (!g) byWorkspace.set(ctx.workspaceId, (g = new GroupAccounts()));
  return g;
}

/**
 * The account of each message. A group id comes first in the order of precedence, so the
 * messages that name one (what server-side libraries send on track calls: context.groupId) are
 * resolved by looking up those accounts — one indexed query on accounts — and users, aliases and
 * domains are looked up only for the other messages and those whose group has no account yet
 * (then missing, for apply). Examples: a batch of 500 tracks over 300 accounts that exist → one
 * query for 300 external ids; the same with 100 anonymous page views mixed in → that query, then
 * one lookup of the page views' anonymous ids alone (not of the tracks' 400 users as well).
 */
async function resolve(exec: Exec, ctx: Ctx, messages: readonly NormalizedMessage[], opts: { groupsInMemory?: boolean } = {}) {
  const hints = messages.map(hintsOf);
  const accountIds: (string | null)[] = new Array(messages.length).fill(null);
  let rest = messages.map((_, i) => i);
  const groupIds = distinct(hints.map((h) => h.groupId));
  if (groupIds.length) {
    const groups = opts.groupsInMemory
      ? await groupAccountsOf(ctx).lookup(exec, ctx.workspaceId, groupIds)
      : await repo.accountsByExternalId(exec, ctx.workspaceId, groupIds);
    rest = [];
    for (let i = 0; i < messages.length; i++) {
      const a = hints[i].groupId === null ? undefined : groups.get(hints[i].groupId!);
      if (a) accountIds[i] = a;
      else rest.push(i);
    }
    if (rest.length === 0) return { accountIds, missingGroupIds: [] };
  }
  const pending = rest.map((i) => messages[i]);
  const pendingHints = rest.map((i) => hints[i]);
  const userIds = distinct(pending.map((m) => m.userId));
  const lookups = await batchLookup(exec, ctx.workspaceId, {
    userIds,
    aliases: distinct([...userIds, ...pending.map((m) => m.anonymousId)]),
    externalIds: distinct(pendingHints.flatMap((h) => [h.groupId, h.companyId])),
    domains: distinct(pendingHints.flatMap((h) => h.domains)),
  });
  rest.forEach((i, k) => (accountIds[i] = resolveAccount(messages[i], pendingHints[k], lookups).accountId));
  return { accountIds, missingGroupIds: distinct(pendingHints.map((h) => h.groupId).filter((g) => g && !lookups.accountByExternalId.has(g))) };
}

/** The transaction of an application: its contacts and accounts are staged (identity.rows.ts). */
type ApplyCtx = TxCtx & { rows: IdentityRows };

/**
 * Applies the identity calls of one or more requests of a workspace (`parts`, in arrival order)
 * as ONE application: one lock, one check of stored messageIds, one lookup of group ids, one load
 * of the rows the calls read, one flush of what they write — as if they had come in one request,
 * while each call's writes carry its own request's instant, actor and request id (`within`).
 * Under load, the ~12 statements an application sends are paid once per group of concurrent
 * requests instead of once per request.
 */
async function apply(tx: Db, parts: readonly ApplyPart[]): Promise<void> {
  if (parts.length === 0) return;
  const exec = execIn(tx);
  const first = parts[0].ctx;
  const ws = first.workspaceId;
  const t: ApplyCtx = { tx, exec, ctx: first, deferred: deferredWrites(), rows: new IdentityRows({ exec, workspaceId: ws, at: first.asOf }) };
  const within = (ctx: Ctx) => {
    t.ctx = ctx;
    t.rows.setInstant(ctx.asOf);
  };
  await lockIdentity(t);
  // Identity calls already stored (a retried batch) are not applied again. Checked under the lock:
  // a concurrent delivery of the same batch has committed by now. A messageId in two of the parts
  // is applied once, from the first.
  const all = parts.flatMap((p) => p.messages.map((m) => ({ m, ctx: p.ctx })));
  const seen = await storedMessageIds(exec, ws, distinct(all.filter(({ m }) => IDENTITY_TYPES.has(m.type)).map(({ m }) => m.messageId)));
  const items = all.filter(({ m }) => (seen.has(m.messageId) ? false : (seen.add(m.messageId), true)));
  const groupIds = distinct(items.map(({ m }) => m.groupId));
  const known = await repo.accountsByExternalId(exec, ws, groupIds);
  const missing = groupIds.filter((g) => !known.has(g));
  if (missing.length) {
    // Each account is created by the request that named its group id first (its instant, actor).
    const firstNaming = new Map<string, (typeof items)[number]>();
    for (const item of items) if (item.m.groupId !== null && !known.has(item.m.groupId) && !firstNaming.has(item.m.groupId)) firstNaming.set(item.m.groupId, item);
    for (const part of parts) {
      const mine = missing.filter((g) => firstNaming.get(g)!.ctx === part.ctx);
      if (mine.length === 0) continue;
      within(part.ctx);
      await createAccounts(
        t,
        mine.map((g) => {
          const { m } = firstNaming.get(g)!;
          return { externalId: g, name: m.type === 'group' ? str(m.traits?.name) : null, origin: 'group' as const, occurredAt: m.timestamp };
        }),
      );
    }
    for (const [g, id] of await repo.accountsByExternalId(exec, ws, missing)) known.set(g, id);
  }
  // What the calls will read, in one statement: their users' contacts, their groups' accounts
  // (with the domains those have), and the owners of their email domains and company ids.
  // (`items` may hold tracks too, sent here only for their group ids' accounts.)
  const calls = items.filter(({ m }) => IDENTITY_TYPES.has(m.type));
  const identifyHints = calls.filter(({ m }) => m.type === 'identify').map(({ m }) => hintsOf(m));
  await t.rows.load({
    userIds: distinct(calls.map(({ m }) => m.userId)),
    accountIds: distinct(calls.map(({ m }) => (m.type === 'group' ? known.get(m.groupId!) : null))),
    domains: distinct(identifyHints.flatMap((h) => h.domains)),
    externalIds: distinct(identifyHints.map((h) => h.companyId)),
  });
  for (const { m, ctx } of calls) {
    within(ctx);
    if (m.type === 'identify') await applyIdentify(t, m);
    else if (m.type === 'group') await applyGroup(t, m, known.get(m.groupId!)!);
    else if (m.type === 'alias') await applyAlias(t, m);
  }
  await t.rows.flush();
  await flushDeferred(t);
}

export const identityResolver: IdentityPort = { resolve, apply };

interface Upserted {
  contact: Contact;
  created: boolean;
  /** Email or traits.company.id changed: the contact's own link may have changed. */
  linkInputsChanged: boolean;
  /** A new anonymous id now points at the contact: its events may need attaching. */
  aliasAdded: boolean;
}

/**
 * Finds or creates the contact of a message (by user id; else by anonymous id, adopting an
 * anonymous contact when the user id first appears) and merges profile fields: the newest
 * message wins per key, an older one only fills gaps (late or retried deliveries change nothing).
 * A repeated identify with nothing new writes nothing. Reads and writes go through the staged rows.
 */
async function upsertContact(
  t: ApplyCtx,
  m: NormalizedMessage,
  profile: { traits: Record<string, unknown>; email: string | null; name: string | null; companyExternalId: string | null } | null,
): Promise<Upserted> {
  let row = m.userId ? await t.rows.contactByUserId(m.userId) : undefined;
  let adopt = false;
  if (!row && m.anonymousId) {
    const anon = await t.rows.contactByAlias(m.anonymousId);
    if (anon && (anon.user_id === null || !m.userId)) [row, adopt] = [anon, !!m.userId];
  }
  // group and alias calls only need the contact to exist: they leave its profile (and traits_at) alone.
  const values = {
    userId: m.userId,
    email: profile?.email ?? null,
    emailDomain: profile?.email ? emailDomain(profile.email) : null,
    name: profile?.name ?? null,
    companyExternalId: profile?.companyExternalId ?? null,
    traits: profile?.traits ?? {},
    traitsAt: profile ? m.timestamp : null,
  };
  const alias = async (contactId: string) => (m.anonymousId ? t.rows.addAlias({ alias: m.anonymousId, contactId, kind: 'anonymous' }) : false);
  if (!row) {
    // Under the identity lock, with the user's contact read (and found missing) in this
    // transaction, no one else can create it meanwhile.
    const inserted = t.rows.insertContact(newId('cont'), values);
    const aliasAdded = await alias(inserted.id as string);
    const contact = contactFromRow(inserted, aliasAdded ? [m.anonymousId!] : []);
    await contactCreated(t, contact);
    return { contact, created: true, linkInputsChanged: true, aliasAdded };
  }
  const current = contactFromRow(row, []);
  if (!profile) {
    if (adopt) t.rows.updateContact(current.id, { userId: m.userId });
    return { contact: adopt ? { ...current, userId: m.userId } : current, created: false, linkInputsChanged: false, aliasAdded: await alias(current.id) };
  }
  const newer = !current.traitsAt || m.timestamp >= current.traitsAt;
  const pick = <T>(incoming: T | null, existing: T | null) => (incoming !== null && (newer || existing === null) ? incoming : existing);
  const next: Contact = {
    ...current,
    userId: adopt ? m.userId : current.userId,
    email: pick(values.email, current.email),
    emailDomain: pick(values.emailDomain, current.emailDomain),
    name: pick(values.name, current.name),
    companyExternalId: pick(values.companyExternalId, current.companyExternalId),
    traits: newer ? { ...current.traits, ...values.traits } : { ...values.traits, ...current.traits },
    traitsAt: newer ? m.timestamp : current.traitsAt,
  };
  const linkInputsChanged = next.emailDomain !== current.emailDomain || next.companyExternalId !== current.companyExternalId;
  const changed =
    adopt ||
    linkInputsChanged ||
    next.email !== current.email ||
    next.name !== current.name ||
    JSON.stringify(next.traits) !== JSON.stringify(current.traits) ||
    next.traitsAt?.getTime() !== current.traitsAt?.getTime();
  if (changed) {
    const { userId, email, emailDomain: domain, name, companyExternalId, traits, traitsAt } = next;
    t.rows.updateContact(current.id, { userId: adopt ? userId : undefined, email, emailDomain: domain, name, companyExternalId, traits, traitsAt });
  }
  return { contact: next, created: false, linkInputsChanged, aliasAdded: await alias(current.id) };
}

async function applyIdentify(t: ApplyCtx, m: NormalizedMessage): Promise<void> {
  const traits = m.traits ?? {};
  const hints = hintsOf(m);
  const name = str(traits.name) ?? (distinct([str(traits.firstName ?? traits.first_name), str(traits.lastName ?? traits.last_name)]).join(' ') || null);
  const r = await upsertContact(t, m, { traits, email: hints.email, name, companyExternalId: hints.companyId });
  // The contact's own link is recomputed only when what it derives from changed; accounts and
  // domains appearing later link waiting contacts themselves (identity.links.ts).
  const link = r.created || r.linkInputsChanged ? await attributeLink(t, r.contact) : null;
  const relinked = link ? await linkContact(t, r.contact, { ...link, at: m.timestamp, dedupeKey: `${m.messageId}:linked` }) : false;
  // Unchanged link: still sweep (cheap, through the partial unmatched index) — events of this user
  // stored unmatched by a batch that raced the link, or under a newly added anonymous id.
  if (!relinked && r.contact.accountId) await attachContactEvents(t, r.contact, r.contact.accountId);
}

/** Group traits → firmographics (Segment's spec names, with common variants). */
function firmographics(traits: Record<string, unknown>) {
  const n = traits.employees ?? traits.employee_count ?? traits.employeeCount ?? traits.num_employees;
  const employees = typeof n === 'number' ? n : typeof n === 'string' && /^\d{1,10}$/.test(n.trim()) ? Number(n) : null;
  const country = str(traits.country) ?? str(obj(traits.address)?.country);
  return {
    name: str(traits.name),
    employees: employees !== null && Number.isSafeInteger(employees) && employees >= 0 ? employees : null,
    industry: str(traits.industry),
    country,
  };
}

function groupDomains(traits: Record<string, unknown>): string[] {
  const raw = [traits.domain, traits.website, ...(Array.isArray(traits.domains) ? traits.domains : [])].filter((v): v is string => typeof v === 'string');
  return distinct(raw.map((d) => normalizeDomain(d))).filter((d) => !isFreeMailDomain(d)).slice(0, 20);
}

async function applyGroup(t: ApplyCtx, m: NormalizedMessage, accountId: string): Promise<void> {
  const traits = m.traits ?? {};
  const row = (await t.rows.account(accountId))!;
  const traitsAt = row.traits_at ? toDate(row.traits_at) : null;
  const newer = !traitsAt || m.timestamp >= traitsAt;
  const before = (row.traits as Record<string, unknown>) ?? {};
  const merged = newer ? { ...before, ...traits } : { ...traits, ...before };
  const changedKeys = Object.keys(merged).filter((k) => JSON.stringify(merged[k]) !== JSON.stringify(before[k]));
  if (changedKeys.length || newer) {
    const f = firmographics(traits);
    const fields = newer ? Object.fromEntries(Object.entries(f).filter(([, v]) => v !== null)) : {};
    t.rows.updateAccount(accountId, { ...fields, traits: merged, traitsAt: newer ? m.timestamp : undefined });
  }
  if (changedKeys.length) {
    await activity(t, {
      accountId,
      type: 'identity',
      kind: 'traits_changed',
      summary: `Group traits changed: ${changedKeys.slice(0, 8).join(', ')}${changedKeys.length > 8 ? '…' : ''}`,
      data: { changed: Object.fromEntries(changedKeys.map((k) => [k, { from: before[k] ?? null, to: merged[k] }])), group_id: m.groupId },
      occurredAt: m.timestamp,
      dedupeKey: `${m.messageId}:traits`,
    });
  }
  for (const domain of groupDomains(traits)) {
    await addAccountDomain(t, { accountId, domain, source: 'group', occurredAt: m.timestamp, dedupeKey: `${m.messageId}:domain:${domain}` });
  }
  const r = await upsertContact(t, m, null);
  t.rows.addMembership({ accountId, contactId: r.contact.id, at: m.timestamp });
  const relinked = await linkContact(t, r.contact, { accountId, source: 'group', at: m.timestamp, dedupeKey: `${m.messageId}:linked` });
  if (!relinked && r.contact.accountId) await attachContactEvents(t, r.contact, r.contact.accountId);
}

/** alias: previousId (an earlier id of the same person) now resolves to the userId's contact. */
async function applyAlias(t: ApplyCtx, m: NormalizedMessage): Promise<void> {
  const { contact } = await upsertContact(t, { ...m, anonymousId: null }, null);
  const added = await t.rows.addAlias({ alias: m.previousId!, contactId: contact.id, kind: 'previous_id' });
  if (added && contact.accountId) await attachContactEvents(t, contact, contact.accountId);
}
