/**
 * The contacts and accounts that ingestion's identity calls read and write, staged for one
 * application (`identity.service` apply): read in ONE statement up front, changed in memory as
 * the calls are applied one after another, and written back in ONE statement at the end.
 *
 * Why: identity calls are applied under the workspace's identity lock, so every round trip made
 * there is one that all of the workspace's requests wait for. On the PostgreSQL ingest bench
 * (1% identify and group calls, nearly all of them for users not seen before), the identity
 * transaction was busy all of the time: ~6 ms per call, of 7–10 statements each (find the
 * contact, insert it, find its domain's owner, link it; lock the account, update it, add its
 * domain, add the membership …). Here a call costs no statement of its own; an application of
 * N calls costs a handful, whatever N: one read here, one write (`flush`).
 *
 * The rules that keep it exact:
 * - every read of a staged row goes through this object, which answers from memory; a row not
 *   loaded yet is read (and locked) then, and staged from there on;
 * - every write of a staged row goes through it too. Writes to rows it never loaded (a contact a
 *   domain link finds, see identity.links) go to the database at once, as before;
 * - code that reads these tables with its own SQL calls `flush` first (identity.links does).
 * The workspace's identity lock, held for the whole transaction, keeps other writers out.
 */
import { keySet } from '../../db/sql.ts';
import type { Exec } from '../events/index.ts';
import * as repo from './accounts.repo.ts';
import type { LinkSource } from './accounts.ts';

type Row = Record<string, unknown>;
const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

/** The account columns group calls and the API set (accounts.repo `updateAccount`), written back whole. */
const ACCOUNT_COLUMNS = ['name', 'employees', 'industry', 'country', 'segment', 'motion', 'owner_id', 'lifecycle_stage', 'external_id'] as const;
const CONTACT_COLUMNS = ['user_id', 'email', 'email_domain', 'name', 'company_external_id', 'account_id', 'account_source'] as const;

export class IdentityRows {
  /** Contacts by user id: a row, or null when known not to exist. */
  private readonly contactsByUser = new Map<string, Row | null>();
  private readonly contacts = new Map<string, Row>();
  private readonly accounts = new Map<string, Row>();
  /** Every domain row of the loaded accounts, as `account domain`. */
  private readonly accountDomains = new Set<string>();
  /** Claimed domain → owning account, or null when known unclaimed. */
  private readonly owners = new Map<string, string | null>();
  /** Company (external) id → live account id, or null when known absent. */
  private readonly byExternalId = new Map<string, string | null>();
  private readonly inserted = new Set<string>();
  private readonly changedContacts = new Set<string>();
  private readonly changedAccounts = new Set<string>();
  private readonly memberships = new Map<string, { accountId: string; contactId: string; first: Date; last: Date }>();

  private readonly exec: Exec;
  private readonly ws: string;
  /** The instant of the command being applied (`ctx.asOf`): created_at / updated_at of what it stages. */
  private at: Date;

  constructor(opts: { exec: Exec; workspaceId: string; at: Date }) {
    this.exec = opts.exec;
    this.ws = opts.workspaceId;
    this.at = opts.at;
  }

  /** What is staged from now on is written at `at` (an application of several requests' calls moves it per call). */
  setInstant(at: Date): void {
    this.at = at;
  }

  /**
   * One statement: the contacts of these user ids and the accounts of these ids (both locked, as
   * the calls would lock them one by one), the accounts' domains, the claimed owners of these
   * email domains, and the accounts of these company ids.
   */
  async load(q: { userIds: string[]; accountIds: string[]; domains: string[]; externalIds: string[] }): Promise<void> {
    const userIds = q.userIds.filter((u) => !this.contactsByUser.has(u));
    const accountIds = q.accountIds.filter((a) => !this.accounts.has(a));
    const domains = q.domains.filter((d) => !this.owners.has(d));
    const externalIds = q.externalIds.filter((x) => !this.byExternalId.has(x));
    if (!userIds.length && !accountIds.length && !domains.length && !externalIds.length) return;
    const found = await this.exec<{ k: string; key: string; r: Row | null }>(
      `SELECT 'c' AS k, keys.k AS key, to_jsonb(c) AS r FROM ${keySet('$2')},
              LATERAL (SELECT * FROM contacts WHERE workspace_id = $1 AND user_id = keys.k LIMIT 1 FOR UPDATE) c
       UNION ALL
       SELECT 'a', keys.k, to_jsonb(a) FROM ${keySet('$3')},
              LATERAL (SELECT * FROM accounts WHERE workspace_id = $1 AND id = keys.k LIMIT 1 FOR UPDATE) a
       UNION ALL
       SELECT 'd', keys.k, jsonb_build_object('domain', d.domain) FROM ${keySet('$3')},
              LATERAL (SELECT domain FROM account_domains WHERE workspace_id = $1 AND account_id = keys.k OFFSET 0) d
       UNION ALL
       SELECT 'o', keys.k, jsonb_build_object('account_id', o.account_id) FROM ${keySet('$4')},
              LATERAL (SELECT account_id FROM account_domains WHERE workspace_id = $1 AND claimed AND domain = keys.k LIMIT 1) o
       UNION ALL
       SELECT 'x', keys.k, jsonb_build_object('account_id', x.id) FROM ${keySet('$5')},
              LATERAL (SELECT coalesce(merged_into, id) AS id FROM accounts WHERE workspace_id = $1 AND external_id = keys.k LIMIT 1) x`,
      [this.ws, userIds, accountIds, domains, externalIds],
    );
    for (const u of userIds) this.contactsByUser.set(u, null);
    for (const d of domains) this.owners.set(d, null);
    for (const x of externalIds) this.byExternalId.set(x, null);
    for (const { k, key, r } of found) {
      if (k === 'c') this.stageContact(r!);
      else if (k === 'a') this.accounts.set(key, r!);
      else if (k === 'd') this.accountDomains.add(`${key} ${r!.domain as string}`);
      else if (k === 'o') this.owners.set(key, r!.account_id as string);
      else this.byExternalId.set(key, r!.account_id as string);
    }
  }

  private stageContact(row: Row): void {
    this.contacts.set(row.id as string, row);
    if (row.user_id) this.contactsByUser.set(row.user_id as string, row);
  }

  /** The contact of a user id (locked), from memory once loaded. */
  async contactByUserId(userId: string): Promise<Row | undefined> {
    if (!this.contactsByUser.has(userId)) {
      const row = await repo.findContactRow(this.exec, this.ws, { userId }, true);
      if (row) this.stageContact(row);
      else this.contactsByUser.set(userId, null);
    }
    return this.contactsByUser.get(userId) ?? undefined;
  }

  /** The contact an anonymous id or previous id points at (locked). Read from the database: staged writes go first. */
  async contactByAlias(alias: string): Promise<Row | undefined> {
    await this.flush();
    const row = await repo.findContactRow(this.exec, this.ws, { alias }, true);
    if (!row) return undefined;
    const staged = this.contacts.get(row.id as string);
    if (staged) return staged;
    this.stageContact(row);
    return row;
  }

  /** A new contact, written by the next flush. Returns its row (what `insertContact` would return). */
  insertContact(id: string, v: repo.ContactValues): Row {
    const row: Row = {
      id,
      workspace_id: this.ws,
      user_id: v.userId,
      email: v.email,
      email_domain: v.emailDomain,
      name: v.name,
      company_external_id: v.companyExternalId,
      traits: v.traits,
      traits_at: v.traitsAt,
      account_id: null,
      account_source: null,
      account_linked_at: null,
      created_at: this.at,
      updated_at: this.at,
    };
    this.stageContact(row);
    this.inserted.add(id);
    return row;
  }

  /** Whether this contact's row is staged here (its writes must then go through this object). */
  hasContact(id: string): boolean {
    return this.contacts.has(id);
  }

  updateContact(id: string, v: Partial<repo.ContactValues>): void {
    const row = this.staged(this.contacts, id);
    const cols: Record<keyof repo.ContactValues, string> = {
      userId: 'user_id',
      email: 'email',
      emailDomain: 'email_domain',
      name: 'name',
      companyExternalId: 'company_external_id',
      traits: 'traits',
      traitsAt: 'traits_at',
    };
    for (const [k, col] of Object.entries(cols) as Array<[keyof repo.ContactValues, string]>) if (v[k] !== undefined) row[col] = v[k];
    if (v.userId) this.contactsByUser.set(v.userId, row);
    this.touch(this.changedContacts, id, row);
  }

  setContactLink(id: string, link: { accountId: string; source: LinkSource; linkedAt: Date }): void {
    const row = this.staged(this.contacts, id);
    Object.assign(row, { account_id: link.accountId, account_source: link.source, account_linked_at: link.linkedAt });
    this.touch(this.changedContacts, id, row);
  }

  /** An anonymous or previous id for a contact: written at once (after the contact itself, when it is new). */
  async addAlias(a: { alias: string; contactId: string; kind: 'anonymous' | 'previous_id' }): Promise<boolean> {
    if (this.inserted.has(a.contactId)) await this.flush();
    return repo.addAlias(this.exec, this.ws, a.alias, a.contactId, a.kind, this.at);
  }

  /** An account's row (locked), from memory once loaded. */
  async account(id: string): Promise<Row | undefined> {
    if (!this.accounts.has(id)) {
      const row = await repo.accountRow(this.exec, this.ws, id, true);
      if (!row) return undefined;
      this.accounts.set(id, row);
    }
    return this.accounts.get(id);
  }

  /** Same patch as accounts.repo `updateAccount`, on a staged account. */
  updateAccount(id: string, patch: Partial<Record<'name' | 'employees' | 'industry' | 'country', unknown>> & { traits?: Record<string, unknown>; traitsAt?: Date }): void {
    const row = this.staged(this.accounts, id);
    for (const col of ['name', 'employees', 'industry', 'country'] as const) if (patch[col] !== undefined) row[col] = patch[col];
    if (patch.traits) row.traits = patch.traits;
    if (patch.traitsAt) row.traits_at = patch.traitsAt;
    this.touch(this.changedAccounts, id, row);
  }

  /** A contact seen in an account's group call: first and last seen widen to include `at`. */
  addMembership({ accountId, contactId, at }: { accountId: string; contactId: string; at: Date }): void {
    const key = `${accountId} ${contactId}`;
    const m = this.memberships.get(key);
    if (!m) this.memberships.set(key, { accountId, contactId, first: at, last: at });
    else {
      if (at < m.first) m.first = at;
      if (at > m.last) m.last = at;
    }
  }

  /** Whether a loaded account is known to have this domain row already (then adding it is a no-op). */
  hasDomain(accountId: string, domain: string): boolean {
    return this.accountDomains.has(`${accountId} ${domain}`);
  }

  /** A domain row just added to the database (at once: whether it is claimed is the database's answer). */
  noteDomain({ accountId, domain, claimed }: { accountId: string; domain: string; claimed: boolean }): void {
    this.accountDomains.add(`${accountId} ${domain}`);
    if (claimed) this.owners.set(domain, accountId);
  }

  /** Claimed owners of these domains: from memory, the ones not loaded read now. */
  async domainOwners(domains: string[]): Promise<Map<string, string>> {
    const unknown = domains.filter((d) => !this.owners.has(d));
    if (unknown.length) {
      const found = await repo.domainOwners(this.exec, this.ws, unknown);
      for (const d of unknown) this.owners.set(d, found.get(d) ?? null);
    }
    const out = new Map<string, string>();
    for (const d of domains) {
      const a = this.owners.get(d);
      if (a) out.set(d, a);
    }
    return out;
  }

  /** The live account of a company id, from memory once loaded. */
  async accountByExternalId(externalId: string): Promise<string | undefined> {
    if (!this.byExternalId.has(externalId)) {
      const found = await repo.accountsByExternalId(this.exec, this.ws, [externalId]);
      this.byExternalId.set(externalId, found.get(externalId) ?? null);
    }
    return this.byExternalId.get(externalId) ?? undefined;
  }

  private staged(map: Map<string, Row>, id: string): Row {
    const row = map.get(id);
    if (!row) throw new Error(`identity rows: ${id} is not staged`);
    return row;
  }

  private touch(changed: Set<string>, id: string, row: Row): void {
    row.updated_at = this.at;
    if (!this.inserted.has(id)) changed.add(id);
  }

  /**
   * Writes what is staged — new contacts, changed contacts, changed accounts, memberships — in ONE
   * statement, a data-modifying CTE per table. They touch different rows (a contact inserted here
   * carries its final state), and the memberships' foreign keys are checked at the end of the
   * statement, when the new contacts exist. Each changed row is reached by one probe of its
   * primary key and updated by its ctid (see events.repo `attachUnmatchedEvents`: a plan that
   * cannot turn into a scan of the workspace's rows).
   */
  async flush(): Promise<void> {
    const params: unknown[] = [this.ws];
    const param = (rows: unknown[]) => (params.push(JSON.stringify(rows)), `$${params.length}::jsonb`);
    const writes: string[] = [];
    if (this.inserted.size) {
      const rows = [...this.inserted].map((id) => this.contactRecord(this.contacts.get(id)!, true));
      writes.push(`new_contacts AS (
        INSERT INTO contacts (id, workspace_id, user_id, email, email_domain, name, company_external_id, traits, traits_at,
                              account_id, account_source, account_linked_at, created_at, updated_at)
        SELECT r.id, $1, r.user_id, r.email, r.email_domain, r.name, r.company_external_id, r.traits, r.traits_at,
               r.account_id, r.account_source, r.account_linked_at, r.created_at, r.updated_at
        FROM jsonb_to_recordset(${param(rows)}) AS r(${CONTACT_RECORD}))`);
    }
    if (this.changedContacts.size) {
      const rows = [...this.changedContacts].map((id) => this.contactRecord(this.contacts.get(id)!, false));
      writes.push(`changed_contacts AS (
        UPDATE contacts c SET user_id = r.user_id, email = r.email, email_domain = r.email_domain, name = r.name,
               company_external_id = r.company_external_id, traits = r.traits, traits_at = r.traits_at,
               account_id = r.account_id, account_source = r.account_source, account_linked_at = r.account_linked_at, updated_at = r.updated_at
        FROM (SELECT r.*, f.ctid AS tid FROM jsonb_to_recordset(${param(rows)}) AS r(${CONTACT_RECORD}),
                     LATERAL (SELECT ctid FROM contacts WHERE workspace_id = $1 AND id = r.id OFFSET 0) f) r
        WHERE c.ctid = r.tid AND c.workspace_id = $1)`);
    }
    if (this.changedAccounts.size) {
      const rows = [...this.changedAccounts].map((id) => {
        const a = this.accounts.get(id)!;
        const out: Row = { id, traits: a.traits ?? {}, traits_at: instant(a.traits_at), updated_at: instant(a.updated_at) };
        for (const col of ACCOUNT_COLUMNS) out[col] = a[col] ?? null;
        return out;
      });
      writes.push(`changed_accounts AS (
        UPDATE accounts a SET ${ACCOUNT_COLUMNS.map((c) => `${c} = r.${c}`).join(', ')}, traits = r.traits, traits_at = r.traits_at, updated_at = r.updated_at
        FROM (SELECT r.*, f.ctid AS tid FROM jsonb_to_recordset(${param(rows)})
                     AS r(id text, name text, employees bigint, industry text, country text, segment text, motion text, owner_id text,
                          lifecycle_stage text, external_id text, traits jsonb, traits_at timestamptz, updated_at timestamptz),
                     LATERAL (SELECT ctid FROM accounts WHERE workspace_id = $1 AND id = r.id OFFSET 0) f) r
        WHERE a.ctid = r.tid AND a.workspace_id = $1)`);
    }
    if (this.memberships.size) {
      const rows = [...this.memberships.values()]
        .sort((x, y) => (x.accountId === y.accountId ? (x.contactId < y.contactId ? -1 : 1) : x.accountId < y.accountId ? -1 : 1))
        .map((m) => [m.accountId, m.contactId, m.first.toISOString(), m.last.toISOString()]);
      writes.push(`memberships AS (
        INSERT INTO account_memberships (workspace_id, account_id, contact_id, first_seen_at, last_seen_at)
        SELECT $1, m->>0, m->>1, (m->>2)::timestamptz, (m->>3)::timestamptz FROM jsonb_array_elements(${param(rows)}) AS m
        ON CONFLICT (workspace_id, account_id, contact_id) DO UPDATE SET
          first_seen_at = LEAST(account_memberships.first_seen_at, excluded.first_seen_at),
          last_seen_at = GREATEST(account_memberships.last_seen_at, excluded.last_seen_at))`);
    }
    this.inserted.clear();
    this.changedContacts.clear();
    this.changedAccounts.clear();
    this.memberships.clear();
    if (writes.length) await this.exec(`WITH ${writes.join(',\n')}\nSELECT 1`, params);
  }

  private contactRecord(c: Row, withCreated: boolean): Row {
    const out: Row = { id: c.id, traits: c.traits ?? {}, traits_at: instant(c.traits_at), account_linked_at: instant(c.account_linked_at), updated_at: instant(c.updated_at) };
    for (const col of CONTACT_COLUMNS) out[col] = c[col] ?? null;
    if (withCreated) out.created_at = instant(c.created_at);
    return out;
  }
}

const CONTACT_RECORD = `id text, user_id text, email text, email_domain text, name text, company_external_id text, traits jsonb, traits_at timestamptz,
  account_id text, account_source text, account_linked_at timestamptz, created_at timestamptz, updated_at timestamptz`;

/** An instant as loaded (a Date, or the text to_jsonb gives) or set here (a Date), as text for the database. */
function instant(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  return v instanceof Date ? iso(v) : String(v);
}
