/**
 * Workspace-scoped queries for accounts, domains, contacts, aliases, memberships and activity.
 * Raw parameterised SQL through `Exec` (the shared connection, or a transaction via execIn), so
 * the same text runs on PGlite and PostgreSQL. JSON travels as text and timestamps as ISO
 * strings, each with an explicit cast.
 */
import type { Exec } from '../events/index.ts';
import { keySet, toDate } from '../../db/sql.ts';
import { accountFromRow, contactFromRow, type Account, type Contact, type LinkSource } from './accounts.ts';

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);
const lock = (forUpdate?: boolean) => (forUpdate ? ' FOR UPDATE' : '');

// ── accounts ────────────────────────────────────────────────────────────────

export async function accountRow(exec: Exec, ws: string, id: string, forUpdate?: boolean): Promise<Record<string, unknown> | undefined> {
  const [r] = await exec('SELECT * FROM accounts WHERE workspace_id = $1 AND id = $2' + lock(forUpdate), [ws, id]);
  return r;
}

/** Follows merged_into to the live account (merges keep chains one hop long; the loop is a guard). */
export async function resolveAccountId(exec: Exec, ws: string, id: string): Promise<string | null> {
  const [r] = await exec<{ id: string }>(
    `WITH RECURSIVE chain(id, merged_into, depth) AS (
       SELECT id, merged_into, 0 FROM accounts WHERE workspace_id = $1 AND id = $2
       UNION ALL
       SELECT a.id, a.merged_into, c.depth + 1 FROM accounts a JOIN chain c ON a.id = c.merged_into
       WHERE a.workspace_id = $1 AND c.depth < 32)
     SELECT id FROM chain WHERE merged_into IS NULL LIMIT 1`,
    [ws, id],
  );
  return r?.id ?? null;
}

export async function loadAccounts(exec: Exec, ws: string, ids: string[]): Promise<Account[]> {
  if (ids.length === 0) return [];
  const found = await exec(
    `SELECT a.* FROM ${keySet('$2')},
            LATERAL (SELECT * FROM accounts WHERE workspace_id = $1 AND id = keys.k LIMIT 1) a`,
    [ws, ids],
  );
  const domains = await claimedDomainsOf(exec, ws, ids);
  const byId = new Map(found.map((r) => [r.id as string, accountFromRow(r, domains.get(r.id as string) ?? [])]));
  return ids.map((id) => byId.get(id)).filter((a): a is Account => !!a);
}

export async function loadAccount(exec: Exec, ws: string, id: string): Promise<Account | undefined> {
  return (await loadAccounts(exec, ws, [id]))[0];
}

/** Group ids → live account ids. */
export async function accountsByExternalId(exec: Exec, ws: string, externalIds: string[]): Promise<Map<string, string>> {
  if (externalIds.length === 0) return new Map();
  const found = await exec<{ external_id: string; id: string }>(
    `SELECT keys.k AS external_id, a.id FROM ${keySet('$2')},
            LATERAL (SELECT coalesce(merged_into, id) AS id FROM accounts WHERE workspace_id = $1 AND external_id = keys.k LIMIT 1) a`,
    [ws, externalIds],
  );
  return new Map(found.map((r) => [r.external_id, r.id]));
}

/**
 * Group ids → live account ids, with the workspace's identity epoch in the same snapshot (see
 * schema `identityEpochs`): the answer holds for as long as the epoch stays where it is.
 */
export async function accountsByExternalIdAt(exec: Exec, ws: string, externalIds: string[]): Promise<{ epoch: number; accounts: Map<string, string> }> {
  const found = await exec<{ external_id: string | null; id: string | null; epoch: number | string | null }>(
    `SELECT NULL AS external_id, NULL AS id, (SELECT epoch FROM identity_epochs WHERE workspace_id = $1) AS epoch
     UNION ALL
     SELECT keys.k, a.id, NULL FROM ${keySet('$2')},
            LATERAL (SELECT coalesce(merged_into, id) AS id FROM accounts WHERE workspace_id = $1 AND external_id = keys.k LIMIT 1) a`,
    [ws, externalIds],
  );
  const accounts = new Map<string, string>();
  let epoch = 0;
  for (const r of found) {
    if (r.external_id === null) epoch = Number(r.epoch ?? 0);
    else accounts.set(r.external_id, r.id!);
  }
  return { epoch, accounts };
}

/** The workspace's identity epoch (schema `identityEpochs`). */
export async function identityEpoch(exec: Exec, ws: string): Promise<number> {
  const [r] = await exec<{ epoch: number | string }>('SELECT epoch FROM identity_epochs WHERE workspace_id = $1', [ws]);
  return Number(r?.epoch ?? 0);
}

/** Moves the workspace's identity epoch, in the caller's transaction: a group id may now resolve differently. */
export async function bumpIdentityEpoch(exec: Exec, ws: string): Promise<void> {
  await exec(
    `INSERT INTO identity_epochs (workspace_id, epoch) VALUES ($1, 1)
     ON CONFLICT (workspace_id) DO UPDATE SET epoch = identity_epochs.epoch + 1`,
    [ws],
  );
}

/** The accounts merged into these (their survivors), by id. */
export async function mergedInto(exec: Exec, ws: string, survivorIds: readonly string[]): Promise<string[]> {
  if (survivorIds.length === 0) return [];
  const found = await exec<{ id: string }>(
    `SELECT m.id FROM ${keySet('$2')},
            LATERAL (SELECT id FROM accounts WHERE workspace_id = $1 AND merged_into = keys.k OFFSET 0) m`,
    [ws, [...survivorIds]],
  );
  return found.map((r) => r.id);
}

/** Inserts accounts; an external id already taken is skipped. Returns the rows inserted. */
export async function insertAccounts(
  exec: Exec,
  ws: string,
  rows: Array<{ id: string; externalId: string | null; name: string | null }>,
  at: Date,
): Promise<Array<{ id: string; external_id: string | null }>> {
  if (rows.length === 0) return [];
  return exec(
    `INSERT INTO accounts (id, workspace_id, external_id, name, status, traits, created_at, updated_at)
     SELECT t.id, $1, t.external_id, t.name, 'active', '{}'::jsonb, $5::timestamptz, $5::timestamptz
     FROM unnest($2::text[], $3::text[], $4::text[]) AS t(id, external_id, name)
     ON CONFLICT (workspace_id, external_id) WHERE external_id IS NOT NULL DO NOTHING
     RETURNING id, external_id`,
    [ws, rows.map((r) => r.id), rows.map((r) => r.externalId), rows.map((r) => r.name), at.toISOString()],
  );
}

const ACCOUNT_COLUMNS = {
  name: 'name',
  employees: 'employees',
  industry: 'industry',
  country: 'country',
  segment: 'segment',
  motion: 'motion',
  ownerId: 'owner_id',
  lifecycleStage: 'lifecycle_stage',
  externalId: 'external_id',
} as const;

/**
 * Sets the given fields (undefined = untouched), plus traits/traits_at when given. Writing
 * external_id moves the workspace's identity epoch in the same transaction: what a group id names
 * may have changed (ingestion's group ids in memory, identity.service `GroupAccounts`).
 */
export async function updateAccount(
  exec: Exec,
  ws: string,
  id: string,
  patch: Partial<Record<keyof typeof ACCOUNT_COLUMNS, unknown>> & { traits?: Record<string, unknown>; traitsAt?: Date },
  at: Date,
): Promise<void> {
  const sets: string[] = [];
  const params: unknown[] = [ws, id, at.toISOString()];
  for (const [key, col] of Object.entries(ACCOUNT_COLUMNS)) {
    const v = patch[key as keyof typeof ACCOUNT_COLUMNS];
    if (v === undefined) continue;
    params.push(v === null ? null : String(v));
    sets.push(`${col} = $${params.length}${col === 'employees' ? '::bigint' : '::text'}`);
  }
  if (patch.traits) {
    params.push(JSON.stringify(patch.traits));
    sets.push(`traits = $${params.length}::text::jsonb`);
  }
  if (patch.traitsAt) {
    params.push(patch.traitsAt.toISOString());
    sets.push(`traits_at = $${params.length}::timestamptz`);
  }
  if (sets.length === 0) return;
  await exec(`UPDATE accounts SET ${sets.join(', ')}, updated_at = $3::timestamptz WHERE workspace_id = $1 AND id = $2`, params);
  if (patch.externalId !== undefined) await bumpIdentityEpoch(exec, ws);
}

export async function listAccountRows(
  exec: Exec,
  ws: string,
  q: { limit: number; startingAfter?: string; status?: 'active' | 'merged'; domain?: string; externalId?: string },
): Promise<Account[]> {
  const params: unknown[] = [ws, q.limit + 1];
  const where = ['a.workspace_id = $1'];
  const add = (clause: (n: number) => string, v: unknown) => (params.push(v), where.push(clause(params.length)));
  if (q.startingAfter) add((n) => `a.id < $${n}`, q.startingAfter);
  if (q.status) add((n) => `a.status = $${n}`, q.status);
  if (q.externalId) add((n) => `a.external_id = $${n}`, q.externalId);
  if (q.domain) add((n) => `EXISTS (SELECT 1 FROM account_domains d WHERE d.workspace_id = a.workspace_id AND d.account_id = a.id AND d.domain = $${n})`, q.domain);
  const found = await exec(`SELECT a.* FROM accounts a WHERE ${where.join(' AND ')} ORDER BY a.id DESC LIMIT $2`, params);
  const domains = await claimedDomainsOf(exec, ws, found.map((r) => r.id as string));
  return found.map((r) => accountFromRow(r, domains.get(r.id as string) ?? []));
}

// ── domains ─────────────────────────────────────────────────────────────────

export async function claimedDomainsOf(exec: Exec, ws: string, accountIds: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (accountIds.length === 0) return out;
  const found = await exec<{ account_id: string; domain: string }>(
    `SELECT keys.k AS account_id, d.domain FROM ${keySet('$2')},
            LATERAL (SELECT domain FROM account_domains WHERE workspace_id = $1 AND account_id = keys.k AND claimed OFFSET 0) d
     ORDER BY d.domain`,
    [ws, accountIds],
  );
  for (const r of found) out.set(r.account_id, [...(out.get(r.account_id) ?? []), r.domain]);
  return out;
}

export async function domainOwners(exec: Exec, ws: string, domains: string[]): Promise<Map<string, string>> {
  if (domains.length === 0) return new Map();
  const found = await exec<{ domain: string; account_id: string }>(
    `SELECT keys.k AS domain, d.account_id FROM ${keySet('$2')},
            LATERAL (SELECT account_id FROM account_domains WHERE workspace_id = $1 AND claimed AND domain = keys.k LIMIT 1) d`,
    [ws, domains],
  );
  return new Map(found.map((r) => [r.domain, r.account_id]));
}

/**
 * Records a domain for an account: claimed when no other account holds it, else kept unclaimed
 * (a duplicate to consolidate). Returns whether a row was added and whether it is claimed.
 */
export async function addDomain(exec: Exec, ws: string, accountId: string, domain: string, source: 'api' | 'group', at: Date): Promise<{ added: boolean; claimed: boolean }> {
  const [r] = await exec<{ claimed: boolean }>(
    `INSERT INTO account_domains (workspace_id, account_id, domain, claimed, source, created_at)
     VALUES ($1, $2, $3, NOT EXISTS (SELECT 1 FROM account_domains WHERE workspace_id = $1 AND domain = $3 AND claimed), $4, $5::timestamptz)
     ON CONFLICT DO NOTHING RETURNING claimed`,
    [ws, accountId, domain, source, at.toISOString()],
  );
  return r ? { added: true, claimed: r.claimed } : { added: false, claimed: false };
}

export async function removeDomains(exec: Exec, ws: string, accountId: string, domains: string[]): Promise<void> {
  if (domains.length) await exec('DELETE FROM account_domains WHERE workspace_id = $1 AND account_id = $2 AND domain = ANY($3::text[])', [ws, accountId, domains]);
}

// ── contacts ────────────────────────────────────────────────────────────────

async function withAliases(exec: Exec, ws: string, found: Record<string, unknown>[]): Promise<Contact[]> {
  if (found.length === 0) return [];
  const aliases = await exec<{ contact_id: string; alias: string }>(
    `SELECT keys.k AS contact_id, a.alias FROM ${keySet('$2')},
            LATERAL (SELECT alias FROM contact_aliases WHERE workspace_id = $1 AND contact_id = keys.k AND kind = 'anonymous' OFFSET 0) a
     ORDER BY a.alias`,
    [ws, found.map((r) => r.id)],
  );
  return found.map((r) => contactFromRow(r, aliases.filter((a) => a.contact_id === r.id).map((a) => a.alias)));
}

export async function loadContact(exec: Exec, ws: string, id: string): Promise<Contact | undefined> {
  return (await withAliases(exec, ws, await exec('SELECT * FROM contacts WHERE workspace_id = $1 AND id = $2', [ws, id])))[0];
}

export async function findContactRow(exec: Exec, ws: string, by: { userId?: string; alias?: string }, forUpdate?: boolean): Promise<Record<string, unknown> | undefined> {
  const [r] = by.userId
    ? await exec('SELECT * FROM contacts WHERE workspace_id = $1 AND user_id = $2' + lock(forUpdate), [ws, by.userId])
    : await exec(
        'SELECT c.* FROM contact_aliases ca JOIN contacts c ON c.id = ca.contact_id WHERE ca.workspace_id = $1 AND ca.alias = $2' + (forUpdate ? ' FOR UPDATE OF c' : ''),
        [ws, by.alias],
      );
  return r;
}

/** The contacts of these user ids (id, user id, email): one probe of the (workspace, user id) key per user id, whatever the statistics. */
export async function contactsByUserId(exec: Exec, ws: string, userIds: readonly string[]): Promise<Array<{ user_id: string; id: string; email: string | null }>> {
  if (userIds.length === 0) return [];
  return exec(
    `SELECT keys.k AS user_id, c.id, c.email FROM ${keySet('$2')},
            LATERAL (SELECT id, email FROM contacts WHERE workspace_id = $1 AND user_id = keys.k LIMIT 1) c`,
    [ws, [...userIds]],
  );
}

export interface ContactValues {
  userId: string | null;
  email: string | null;
  emailDomain: string | null;
  name: string | null;
  companyExternalId: string | null;
  traits: Record<string, unknown>;
  traitsAt: Date | null;
}

/** Inserts a contact unless its user id exists; returns the row inserted, or undefined. */
export async function insertContact(exec: Exec, ws: string, id: string, v: ContactValues, at: Date): Promise<Record<string, unknown> | undefined> {
  const [r] = await exec(
    `INSERT INTO contacts (id, workspace_id, user_id, email, email_domain, name, company_external_id, traits, traits_at, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text::jsonb, $9::timestamptz, $10::timestamptz, $10::timestamptz)
     ON CONFLICT (workspace_id, user_id) WHERE user_id IS NOT NULL DO NOTHING RETURNING *`,
    [id, ws, v.userId, v.email, v.emailDomain, v.name, v.companyExternalId, JSON.stringify(v.traits), iso(v.traitsAt), at.toISOString()],
  );
  return r;
}

export async function setContactLink(exec: Exec, ws: string, contactId: string, link: { accountId: string; source: LinkSource; linkedAt: Date }, at: Date): Promise<void> {
  await exec(
    `UPDATE contacts SET account_id = $3, account_source = $4, account_linked_at = $5::timestamptz, updated_at = $6::timestamptz WHERE workspace_id = $1 AND id = $2`,
    [ws, contactId, link.accountId, link.source, link.linkedAt.toISOString(), at.toISOString()],
  );
}

export async function addAlias(exec: Exec, ws: string, alias: string, contactId: string, kind: 'anonymous' | 'previous_id', at: Date): Promise<boolean> {
  const r = await exec('INSERT INTO contact_aliases (workspace_id, alias, contact_id, kind, created_at) VALUES ($1, $2, $3, $4, $5::timestamptz) ON CONFLICT DO NOTHING RETURNING alias', [
    ws,
    alias,
    contactId,
    kind,
    at.toISOString(),
  ]);
  return r.length > 0;
}

/**
 * The aliases of each of these contacts (contacts without any are absent): one probe of the
 * (workspace, contact) index per contact. Ingestion reads them for every link it makes, to attach
 * the contact's unmatched events.
 */
export async function aliasesByContact(exec: Exec, ws: string, contactIds: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (contactIds.length === 0) return out;
  const r = await exec<{ contact_id: string; alias: string }>(
    `SELECT keys.k AS contact_id, a.alias FROM ${keySet('$2')},
            LATERAL (SELECT alias FROM contact_aliases WHERE workspace_id = $1 AND contact_id = keys.k OFFSET 0) a
     ORDER BY 1, 2`,
    [ws, contactIds],
  );
  for (const x of r) out.set(x.contact_id, [...(out.get(x.contact_id) ?? []), x.alias]);
  return out;
}

export async function listContactRows(exec: Exec, ws: string, q: { limit: number; startingAfter?: string; accountId?: string; email?: string; userId?: string }): Promise<Contact[]> {
  const params: unknown[] = [ws, q.limit + 1];
  const where = ['workspace_id = $1'];
  const add = (col: string, op: string, v: unknown) => (params.push(v), where.push(`${col} ${op} $${params.length}`));
  if (q.startingAfter) add('id', '<', q.startingAfter);
  if (q.accountId) add('account_id', '=', q.accountId);
  if (q.email) add('email', '=', q.email.toLowerCase());
  if (q.userId) add('user_id', '=', q.userId);
  return withAliases(exec, ws, await exec(`SELECT * FROM contacts WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT $2`, params));
}

// ── activity (timeline items other than product events) ────────────────────

export interface ActivityInput {
  accountId: string;
  type: 'identity' | 'merge';
  kind: string;
  summary: string;
  data: Record<string, unknown>;
  occurredAt: Date;
  dedupeKey?: string;
}

export async function addActivity(exec: Exec, ws: string, id: string, a: ActivityInput, at: Date): Promise<void> {
  await exec(
    `INSERT INTO account_activity (id, workspace_id, account_id, type, kind, summary, data, occurred_at, dedupe_key, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7::text::jsonb, $8::timestamptz, $9, $10::timestamptz)
     ON CONFLICT (workspace_id, dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING`,
    [id, ws, a.accountId, a.type, a.kind, a.summary, JSON.stringify(a.data), a.occurredAt.toISOString(), a.dedupeKey ?? null, at.toISOString()],
  );
}

/**
 * Several activity rows in one statement (same rules as addActivity: a known dedupe key is
 * skipped); each is created at its own `at` when it has one, else at `at`.
 */
export async function addActivities(exec: Exec, ws: string, items: readonly { id: string; input: ActivityInput; at?: Date }[], at: Date): Promise<void> {
  if (!items.length) return;
  const rows = items.map(({ id, input: a, at: own }) => [id, a.accountId, a.type, a.kind, a.summary, a.data, a.occurredAt.toISOString(), a.dedupeKey ?? null, (own ?? at).toISOString()]);
  await exec(
    `INSERT INTO account_activity (id, workspace_id, account_id, type, kind, summary, data, occurred_at, dedupe_key, created_at)
     SELECT r->>0, $1, r->>1, r->>2, r->>3, r->>4, r->5, (r->>6)::timestamptz, r->>7, (r->>8)::timestamptz FROM jsonb_array_elements($2::jsonb) AS r
     ON CONFLICT (workspace_id, dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING`,
    [ws, JSON.stringify(rows)],
  );
}

export interface ActivityRow {
  id: string;
  type: 'identity' | 'merge';
  kind: string;
  summary: string;
  data: Record<string, unknown>;
  occurredAt: Date;
}

export async function listActivity(exec: Exec, ws: string, accountId: string, before: { at: Date; id: string } | undefined, limit: number): Promise<ActivityRow[]> {
  const params: unknown[] = [ws, accountId, limit];
  if (before) params.push(before.at.toISOString(), before.id);
  const found = await exec(
    `SELECT id, type, kind, summary, data, occurred_at FROM account_activity WHERE workspace_id = $1 AND account_id = $2
     ${before ? 'AND (occurred_at, id COLLATE "C") < ($4::timestamptz, $5::text)' : ''} ORDER BY occurred_at DESC, id COLLATE "C" DESC LIMIT $3`,
    params,
  );
  return found.map((r) => ({
    id: r.id as string,
    type: r.type as ActivityRow['type'],
    kind: r.kind as string,
    summary: r.summary as string,
    data: (r.data as Record<string, unknown>) ?? {},
    occurredAt: toDate(r.occurred_at),
  }));
}

export async function findActivityInstant(exec: Exec, ws: string, id: string): Promise<{ at: Date; accountId: string } | undefined> {
  const [r] = await exec<{ occurred_at: unknown; account_id: string }>('SELECT occurred_at, account_id FROM account_activity WHERE workspace_id = $1 AND id = $2', [ws, id]);
  return r ? { at: toDate(r.occurred_at), accountId: r.account_id } : undefined;
}
