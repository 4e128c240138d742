import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Database } from '../../src/db/client.ts';
import { openTestDatabase } from '../../src/db/testing.ts';
import type { Exec } from '../../src/modules/events/index.ts';
import { accountsByExternalId, aliasesByContact, claimedDomainsOf, contactsByUserId, domainOwners, loadAccounts, loadContact, mergedInto } from '../../src/modules/accounts/accounts.repo.ts';
import { batchLookup } from '../../src/modules/accounts/identity.service.ts';
import { readsByKey } from '../support/plans.ts';

/**
 * Every ingest request resolves its messages' accounts: the group ids of a batch (one lookup on
 * accounts), and for messages without a known group their users, aliases, company ids and email
 * domains. Each must read the keys asked for, whatever the statistics: `bench ingest`
 * (auto_explain) logged the group-id lookup reading the workspace's accounts and filtering them
 * (675 rows discarded at 1,000 accounts), the plan that statistics taken while the table was
 * nearly empty give — at 100,000 accounts, every request would read them all. The statements run
 * under EXPLAIN ANALYZE never analyzed, analyzed while small then grown, and analyzed, and must
 * return what they returned before.
 */
describe('ingestion resolves identities by key', () => {
  let db: Database;
  const N = 2000;
  const TABLES = ['contact_aliases', 'contacts', 'account_domains', 'accounts'];

  /** Accounts, domains, contacts and aliases [from, to) of ws_busy; every fifth account merged into acct_0. */
  async function fill(from: number, to: number) {
    const ns = Array.from({ length: to - from }, (_, k) => from + k);
    await db.query(
      `INSERT INTO accounts (id, workspace_id, external_id, name, status, merged_into, traits, created_at, updated_at)
       SELECT 'acct_' || n, 'ws_busy', 'g' || n, 'Company ' || n, CASE WHEN n % 5 = 4 THEN 'merged' ELSE 'active' END, CASE WHEN n % 5 = 4 THEN 'acct_0' END,
              '{}', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z'
       FROM unnest($1::int[]) AS n`,
      [ns],
    );
    await db.query(
      `INSERT INTO account_domains (workspace_id, account_id, domain, claimed, source, created_at)
       SELECT 'ws_busy', 'acct_' || n, 'c' || n || (CASE WHEN k = 1 THEN '.io' ELSE '.com' END), k = 2, 'api', '2026-01-01T00:00:00Z'
       FROM unnest($1::int[]) AS n, generate_series(1, 2) AS k`,
      [ns],
    );
    await db.query(
      `INSERT INTO contacts (id, workspace_id, user_id, email, email_domain, account_id, account_source, traits, created_at, updated_at)
       SELECT 'ct_' || n, 'ws_busy', 'u' || n, 'u' || n || '@c' || n || '.com', 'c' || n || '.com', 'acct_' || n, 'group', '{}', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z'
       FROM unnest($1::int[]) AS n`,
      [ns],
    );
    await db.query(
      `INSERT INTO contact_aliases (workspace_id, alias, contact_id, kind, created_at)
       SELECT 'ws_busy', 'anon' || n, 'ct_' || n, 'anonymous', '2026-01-01T00:00:00Z' FROM unnest($1::int[]) AS n`,
      [ns],
    );
  }

  before(async () => {
    db = await openTestDatabase();
    await db.query(`INSERT INTO workspaces (id, name, created_at) VALUES ('ws_busy', 'Busy', now()), ('ws_other', 'Other', now())`);
    await fill(0, N);
    await db.query(`INSERT INTO accounts (id, workspace_id, external_id, name, status, traits, created_at, updated_at) VALUES ('acct_x', 'ws_other', 'g7', 'X', 'active', '{}', now(), now())`);
  });
  after(async () => {
    await db?.close();
  });

  const probed = async <T,>(read: (exec: Exec) => Promise<T>, keys: number, tables: Record<string, number>) => (await readsByKey(db, read, keys, tables)).result;

  async function readAndCheck(ns: number[]) {
    const groups = [...ns.map((n) => `g${n}`), 'g-none'];
    const byGroup = await probed((x) => accountsByExternalId(x, 'ws_busy', groups), groups.length, { accounts: 1 });
    // A merged account resolves to its survivor; an unknown group id and other workspaces' accounts are absent.
    assert.deepEqual([...byGroup].sort(), ns.map((n) => [`g${n}`, n % 5 === 4 ? 'acct_0' : `acct_${n}`]).sort());

    const ids = ns.map((n) => `acct_${n}`);
    const loaded = await probed((x) => loadAccounts(x, 'ws_busy', [...ids, 'acct_x']), ids.length + 1, { accounts: 1, account_domains: 2 });
    assert.deepEqual(loaded.map((a) => a.id), ids);
    const domains = await probed((x) => claimedDomainsOf(x, 'ws_busy', ids), ids.length, { account_domains: 2 });
    assert.deepEqual([...domains].sort(), ids.map((id) => [id, [`c${id.slice(5)}.com`]]).sort());
    const owners = await probed((x) => domainOwners(x, 'ws_busy', [...ns.map((n) => `c${n}.com`), ...ns.map((n) => `c${n}.io`)]), ns.length * 2, { account_domains: 1 });
    assert.deepEqual([...owners].sort(), ns.map((n) => [`c${n}.com`, `acct_${n}`]).sort());

    // Usage thresholds check a survivor with the accounts merged into it. Every fifth account is merged into acct_0.
    const survivors = ['acct_0', ...ids.filter((id) => id !== 'acct_0')];
    const allMerged = await db.query<{ id: string }>(`SELECT id FROM accounts WHERE workspace_id = 'ws_busy' AND merged_into = 'acct_0'`);
    const merged = await probed((x) => mergedInto(x, 'ws_busy', survivors), survivors.length + allMerged.length, { accounts: 1 });
    assert.deepEqual(merged.sort(), allMerged.map((r) => r.id).sort());
    const none = await probed((x) => mergedInto(x, 'ws_busy', ids.filter((id) => id !== 'acct_0')), ids.length, { accounts: 1 });
    assert.deepEqual(none, []);

    // A link attaches the contact's unmatched events by its aliases; a contact is loaded with its anonymous ids.
    const contacts = ns.map((n) => `ct_${n}`);
    const aliases = await probed((x) => aliasesByContact(x, 'ws_busy', [...contacts, 'ct_none']), contacts.length + 1, { contact_aliases: 1 });
    assert.deepEqual([...aliases].sort(), ns.map((n) => [`ct_${n}`, [`anon${n}`]]).sort());
    const contact = await probed((x) => loadContact(x, 'ws_busy', `ct_${ns[0]}`), 1, { contacts: 1, contact_aliases: 1 });
    assert.deepEqual([contact?.id, contact?.anonymousIds], [`ct_${ns[0]}`, [`anon${ns[0]}`]]);

    // The unmatched users' list shows each user's contact, when there is one.
    const byUser = await probed((x) => contactsByUserId(x, 'ws_busy', [...ns.map((n) => `u${n}`), 'u-none']), ns.length + 1, { contacts: 1 });
    assert.deepEqual(byUser.map((c) => [c.user_id, c.id, c.email]).sort(), ns.map((n) => [`u${n}`, `ct_${n}`, `u${n}@c${n}.com`]).sort());

    const q = { userIds: ns.map((n) => `u${n}`), aliases: [...ns.map((n) => `anon${n}`), 'anon-none'], externalIds: groups, domains: ns.map((n) => `c${n}.com`) };
    const keys = q.userIds.length + q.aliases.length + q.externalIds.length + q.domains.length;
    const lookups = await probed((x) => batchLookup(x, 'ws_busy', q), keys, { accounts: 2, account_domains: 1, contacts: 1, contact_aliases: 1 });
    const survivor = (n: number) => (n % 5 === 4 ? 'acct_0' : `acct_${n}`);
    assert.deepEqual([...lookups.contactByUserId].sort(), ns.map((n) => [`u${n}`, { contactId: `ct_${n}`, accountId: survivor(n), source: 'group' }]).sort());
    assert.deepEqual([...lookups.contactByAlias].sort(), ns.map((n) => [`anon${n}`, { contactId: `ct_${n}`, accountId: survivor(n), source: 'group' }]).sort());
    assert.deepEqual([...lookups.accountByExternalId].sort(), [...byGroup].sort());
    assert.deepEqual([...lookups.accountByDomain].sort(), [...owners].sort());
  }

  it('reads the keys asked for (never analyzed)', async () => {
    await readAndCheck([3, 4, 17, 150, 1999]);
  });

  it('reads by key with statistics taken while the workspace was small', async () => {
    for (const table of TABLES) await db.query(`DELETE FROM ${table} WHERE workspace_id = 'ws_busy'`);
    await fill(0, 3);
    for (const table of TABLES) await db.query(`ANALYZE ${table}`);
    await fill(3, N);
    await readAndCheck([5, 6, 7, 8, 9, 10, 11, 12]);
  });

  it('reads by key once analyzed; a repeated key is read once', async () => {
    for (const table of TABLES) await db.query(`ANALYZE ${table}`);
    await readAndCheck([42, 998]);
    const found = await probed((x) => accountsByExternalId(x, 'ws_busy', ['g42', 'g42']), 1, { accounts: 1 });
    assert.deepEqual([...found], [['g42', 'acct_42']]);
  });
});
