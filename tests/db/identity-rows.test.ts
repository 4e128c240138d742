import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Ctx, Db } from '../../src/context.ts';
import type { Database } from '../../src/db/client.ts';
import { openTestDatabase } from '../../src/db/testing.ts';
import { identityResolver } from '../../src/modules/accounts/index.ts';
import { IdentityRows } from '../../src/modules/accounts/identity.rows.ts';
import type { NormalizedMessage } from '../../src/modules/events/index.ts';
import { createWorkspace } from '../../src/modules/workspaces/index.ts';
import { createTandem, type Tandem } from '../../src/tandem.ts';
import { readsByKey } from '../support/plans.ts';

/**
 * Ingestion applies identify and group calls under the workspace's identity lock, which every
 * request of the workspace waits for. The contacts and accounts those calls touch are staged
 * (identity.rows.ts): read in one statement, written back in one. So an application costs the
 * same handful of statements for 2 calls as for 12. Before, each call made
 * its own: 7–10 for a new user's group call (find the contact, insert it, lock the account, update
 * it, add its domain, add the membership, link the contact…).
 */
describe('identity calls are applied with staged rows', () => {
  let db: Database;
  let tandem: Tandem;
  let ws: string;
  const at = new Date('2026-03-01T00:00:00Z');
  let seq = 0;

  before(async () => {
    db = await openTestDatabase();
    tandem = await createTandem({ database: db });
    ws = (await createWorkspace(tandem.deps, { name: 'Staged', sandbox: false })).workspace.id;
    // Ten accounts org-0 … org-9, each claiming org<i>.example.com.
    await db.query(
      `INSERT INTO accounts (id, workspace_id, external_id, name, status, traits, created_at, updated_at)
       SELECT 'acct_' || n, $1, 'org-' || n, 'Org ' || n, 'active', '{"plan":"free"}', $2, $2 FROM generate_series(0, 9) AS n`,
      [ws, at.toISOString()],
    );
    await db.query(
      `INSERT INTO account_domains (workspace_id, account_id, domain, claimed, source, created_at)
       SELECT $1, 'acct_' || n, 'org' || n || '.example.com', true, 'api', $2 FROM generate_series(0, 9) AS n`,
      [ws, at.toISOString()],
    );
  });
  after(async () => {
    await tandem?.close();
    await db?.close();
  });

  const ctx = (): Ctx => ({ deps: tandem.deps, workspaceId: ws, asOf: at, actor: { type: 'cli' } });
  const msg = (m: Partial<NormalizedMessage>): NormalizedMessage => ({
    index: 0, messageId: `m-${++seq}`, type: 'identify', event: null, userId: null, anonymousId: null, groupId: null, previousId: null,
    timestamp: new Date(at.getTime() + seq * 1000), sentAt: null, receivedAt: at, properties: null, traits: null, context: null, ...m,
  });
  const identify = (userId: string, k: number) => msg({ type: 'identify', userId, traits: { email: `${userId}@org${k}.example.com`, name: `User ${userId}` } });
  const group = (userId: string, k: number) => msg({ type: 'group', userId, groupId: `org-${k}`, traits: { name: `Org ${k}`, employees: 50 + k, domain: `org${k}.example.com` } });

  /** Applies the messages in one transaction; returns how many statements the transaction sent. */
  async function applyCounting(messages: NormalizedMessage[]): Promise<number> {
    let statements = 0;
    await db.db.transaction(async (tx: Db) => {
      const client = (tx as unknown as { session: { client: { query: (...args: unknown[]) => unknown } } }).session.client;
      const own = Object.prototype.hasOwnProperty.call(client, 'query');
      const original = client.query;
      client.query = function (this: unknown, ...args: unknown[]) {
        statements++;
        return original.apply(this, args);
      };
      try {
        await identityResolver.apply(tx, [{ ctx: ctx(), messages }]);
      } finally {
        if (own) client.query = original;
        else delete (client as { query?: unknown }).query;
      }
    });
    return statements;
  }

  it('costs the same statements for 12 calls as for 2', async (t) => {
    const few = [identify('a1', 1), group('a2', 2)];
    const many = [1, 2, 3, 4, 5, 6].flatMap((k) => [identify(`b${k}`, k), group(`c${k}`, k)]);
    const forFew = await applyCounting(few);
    const forMany = await applyCounting(many);
    assert.equal(forMany, forFew, `2 calls: ${forFew} statements; 12 calls: ${forMany}`);
    t.diagnostic(`${forFew} statements for 2 calls and for 12`);

    const contacts = await db.query<{ user_id: string; email: string | null; account_id: string; account_source: string }>(
      `SELECT user_id, email, account_id, account_source FROM contacts WHERE workspace_id = $1 ORDER BY user_id`,
      [ws],
    );
    const byUser = new Map(contacts.map((c) => [c.user_id, c]));
    for (const k of [1, 2, 3, 4, 5, 6]) {
      assert.deepEqual({ ...byUser.get(`b${k}`) }, { user_id: `b${k}`, email: `b${k}@org${k}.example.com`, account_id: `acct_${k}`, account_source: 'domain' });
      assert.deepEqual({ ...byUser.get(`c${k}`) }, { user_id: `c${k}`, email: null, account_id: `acct_${k}`, account_source: 'group' });
    }
    const members = await db.query<{ account_id: string; user_id: string }>(
      `SELECT m.account_id, c.user_id FROM account_memberships m JOIN contacts c ON c.id = m.contact_id WHERE m.workspace_id = $1 ORDER BY 2`,
      [ws],
    );
    assert.deepEqual(members.map((m) => `${m.user_id}→${m.account_id}`), ['a2→acct_2', 'c1→acct_1', 'c2→acct_2', 'c3→acct_3', 'c4→acct_4', 'c5→acct_5', 'c6→acct_6']);
    const [org3] = await db.query<{ employees: number; traits: Record<string, unknown> }>(`SELECT employees, traits FROM accounts WHERE id = 'acct_3'`);
    assert.equal(Number(org3.employees), 53);
    assert.deepEqual(org3.traits, { plan: 'free', name: 'Org 3', employees: 53, domain: 'org3.example.com' });
  });

  it('applies calls on the same contact in order, and links a contact created earlier in the same application to a domain added later in it', async () => {
    await applyCounting([
      identify('d1', 7),
      msg({ type: 'identify', userId: 'd1', traits: { name: 'Dana' } }),
      // e1 waits on new.example.com, which no account has yet; a group call then adds it to org-8.
      msg({ type: 'identify', userId: 'e1', traits: { email: 'e1@new.example.com' } }),
      msg({ type: 'group', userId: 'f1', groupId: 'org-8', traits: { domain: 'new.example.com' } }),
      msg({ type: 'group', userId: 'd1', groupId: 'org-9', traits: {} }),
    ]);
    const rows = await db.query<{ user_id: string; name: string | null; email: string | null; account_id: string | null; account_source: string | null }>(
      `SELECT user_id, name, email, account_id, account_source FROM contacts WHERE workspace_id = $1 AND user_id IN ('d1', 'e1', 'f1') ORDER BY user_id`,
      [ws],
    );
    assert.deepEqual(
      rows.map((r) => ({ ...r })),
      [
        // identified at org7's domain, renamed, then grouped into org-9: a group call outranks a domain
        { user_id: 'd1', name: 'Dana', email: 'd1@org7.example.com', account_id: 'acct_9', account_source: 'group' },
        { user_id: 'e1', name: null, email: 'e1@new.example.com', account_id: 'acct_8', account_source: 'domain' },
        { user_id: 'f1', name: null, email: null, account_id: 'acct_8', account_source: 'group' },
      ],
    );
    const [domain] = await db.query<{ account_id: string; claimed: boolean }>(`SELECT account_id, claimed FROM account_domains WHERE workspace_id = $1 AND domain = 'new.example.com'`, [ws]);
    assert.deepEqual({ ...domain }, { account_id: 'acct_8', claimed: true });
  });
});

/**
 * The staged rows are read and written by key, whatever the statistics (docs/ARCHITECTURE.md,
 * "Reads of a set of keys"): never analyzed, analyzed while the workspace was small, analyzed.
 */
describe('staged identity rows are read and written by key', () => {
  let db: Database;
  const N = 2000;
  const TABLES = ['account_memberships', 'contacts', 'account_domains', 'accounts'];
  const at = new Date('2026-03-01T00:00:00Z');

  /** Accounts acct_<n> (external id g<n>, claiming c<n>.com) and contacts ct_<n> (user u<n>), n in [from, to). */
  async function fill(from: number, to: number) {
    const ns = Array.from({ length: to - from }, (_, k) => from + k);
    await db.query(
      `INSERT INTO accounts (id, workspace_id, external_id, name, status, traits, created_at, updated_at)
       SELECT 'acct_' || n, 'ws_busy', 'g' || n, 'Company ' || n, 'active', '{}', $2, $2 FROM unnest($1::int[]) AS n`,
      [ns, at.toISOString()],
    );
    await db.query(
      `INSERT INTO account_domains (workspace_id, account_id, domain, claimed, source, created_at)
       SELECT 'ws_busy', 'acct_' || n, 'c' || n || '.com', true, 'api', $2 FROM unnest($1::int[]) AS n`,
      [ns, at.toISOString()],
    );
    await db.query(
      `INSERT INTO contacts (id, workspace_id, user_id, email, email_domain, traits, created_at, updated_at)
       SELECT 'ct_' || n, 'ws_busy', 'u' || n, 'u' || n || '@c' || n || '.com', 'c' || n || '.com', '{}', $2, $2 FROM unnest($1::int[]) AS n`,
      [ns, at.toISOString()],
    );
  }

  before(async () => {
    db = await openTestDatabase();
    await db.query(`INSERT INTO workspaces (id, name, created_at) VALUES ('ws_busy', 'Busy', now())`);
    await fill(0, N);
  });
  after(async () => {
    await db?.close();
  });

  async function stageAndCheck(ns: number[]) {
    const later = new Date(at.getTime() + ns[0] * 60_000);
    const keys = ns.length * 4 + 1;
    await readsByKey(
      db,
      async (exec) => {
        const rows = new IdentityRows({ exec, workspaceId: 'ws_busy', at: later });
        await rows.load({
          userIds: [...ns.map((n) => `u${n}`), 'u-none'],
          accountIds: ns.map((n) => `acct_${n}`),
          domains: ns.map((n) => `c${n}.com`),
          externalIds: ns.map((n) => `g${n}`),
        });
        for (const n of ns) {
          const c = await rows.contactByUserId(`u${n}`);
          assert.equal(c?.id, `ct_${n}`);
          assert.equal(await rows.accountByExternalId(`g${n}`), `acct_${n}`);
          assert.equal((await rows.account(`acct_${n}`))?.name, `Company ${n}`);
          assert.ok(rows.hasDomain(`acct_${n}`, `c${n}.com`));
          rows.updateContact(`ct_${n}`, { name: `Renamed ${n}` });
          rows.setContactLink(`ct_${n}`, { accountId: `acct_${n}`, source: 'domain', linkedAt: later });
          rows.updateAccount(`acct_${n}`, { name: `Company ${n} Inc`, traits: { n }, traitsAt: later });
          rows.addMembership({ accountId: `acct_${n}`, contactId: `ct_${n}`, at: later });
        }
        assert.deepEqual([...(await rows.domainOwners(ns.map((n) => `c${n}.com`)))].sort(), ns.map((n) => [`c${n}.com`, `acct_${n}`]).sort());
        assert.equal(await rows.contactByUserId('u-none'), undefined);
        await rows.flush();
      },
      keys,
      { contacts: 2, accounts: 3, account_domains: 2 },
    );
    const contacts = await db.query<{ id: string; name: string; account_id: string; account_source: string }>(
      `SELECT id, name, account_id, account_source FROM contacts WHERE id = ANY($1::text[]) ORDER BY id`,
      [ns.map((n) => `ct_${n}`)],
    );
    assert.deepEqual(contacts.map((c) => ({ ...c })), ns.map((n) => ({ id: `ct_${n}`, name: `Renamed ${n}`, account_id: `acct_${n}`, account_source: 'domain' })).sort((a, b) => (a.id < b.id ? -1 : 1)));
    const accounts = await db.query<{ id: string; name: string; traits: unknown; external_id: string }>(
      `SELECT id, name, traits, external_id FROM accounts WHERE id = ANY($1::text[]) ORDER BY id`,
      [ns.map((n) => `acct_${n}`)],
    );
    assert.deepEqual(accounts.map((a) => ({ ...a })), ns.map((n) => ({ id: `acct_${n}`, name: `Company ${n} Inc`, traits: { n }, external_id: `g${n}` })).sort((a, b) => (a.id < b.id ? -1 : 1)));
    const [m] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM account_memberships WHERE contact_id = ANY($1::text[])`, [ns.map((n) => `ct_${n}`)]);
    assert.equal(m.n, ns.length);
  }

  it('reads and writes by key (never analyzed)', async () => {
    await stageAndCheck([3, 17, 150, 1999]);
  });

  it('reads and writes by key with statistics taken while the workspace was small', async () => {
    for (const table of TABLES) await db.query(`DELETE FROM ${table} WHERE workspace_id = 'ws_busy'`);
    await fill(0, 3);
    for (const table of TABLES) await db.query(`ANALYZE ${table}`);
    await fill(3, N);
    await stageAndCheck([5, 6, 7, 8, 9, 10, 11, 12]);
  });

  it('reads and writes by key once analyzed', async () => {
    for (const table of TABLES) await db.query(`ANALYZE ${table}`);
    await stageAndCheck([42, 998]);
  });
});
