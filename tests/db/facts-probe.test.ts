import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Database } from '../../src/db/client.ts';
import { openTestDatabase } from '../../src/db/testing.ts';
import { accountFacts } from '../../src/modules/scoring/scoring.repo.ts';
import { explained, rowsRead, scansOf } from '../support/plans.ts';

/**
 * A flush re-scores a batch of accounts and reads their facts (firmographics, tech stack, a
 * domain). That must be a lookup of those accounts and their domains: `bench ingest`
 * (auto_explain) logged the batch read as a filtered scan of the workspace's accounts, each
 * joined to every domain row by a nested loop (225,443 rows discarded at worst), the plan that
 * statistics taken while the tables were nearly empty give. The test runs the real statement under
 * EXPLAIN ANALYZE never analyzed, analyzed while small then grown, and analyzed; and checks it
 * returns what the all-accounts statement returns for those accounts.
 */
describe('a batch of accounts is read by key for scoring', () => {
  let db: Database;
  const ACCOUNTS = 1000;

  /** Accounts [from, to) of ws_busy, each with two domains (the second claimed); every fifth merged into acct_0. */
  async function accounts(from: number, to: number) {
    const rows = Array.from({ length: to - from }, (_, k) => from + k);
    await db.query(
      `INSERT INTO accounts (id, workspace_id, name, status, merged_into, employees, industry, traits, created_at, updated_at)
       SELECT 'acct_' || n, 'ws_busy', 'Company ' || n, CASE WHEN n % 5 = 4 THEN 'merged' ELSE 'active' END, CASE WHEN n % 5 = 4 THEN 'acct_0' END, n, 'software',
              jsonb_build_object('tech_stack', jsonb_build_array('segment', 'aws')), '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z'
       FROM unnest($1::int[]) AS n`,
      [rows],
    );
    await db.query(
      `INSERT INTO account_domains (workspace_id, account_id, domain, claimed, source, created_at)
       SELECT 'ws_busy', 'acct_' || n, 'c' || n || (CASE WHEN k = 1 THEN '.io' ELSE '.com' END), k = 2, 'api', '2026-01-01T00:00:00Z'::timestamptz + k * interval '1 hour'
       FROM unnest($1::int[]) AS n, generate_series(1, 2) AS k`,
      [rows],
    );
  }

  before(async () => {
    db = await openTestDatabase();
    await db.query(`INSERT INTO workspaces (id, name, created_at) VALUES ('ws_busy', 'Busy', now()), ('ws_other', 'Other', now())`);
    await accounts(0, ACCOUNTS);
    await db.query(`INSERT INTO accounts (id, workspace_id, name, status, traits, created_at, updated_at) VALUES ('acct_x', 'ws_other', 'X', 'active', '{}', now(), now())`);
  });
  after(async () => {
    await db?.close();
  });

  async function readAndCheck(ids: string[], live: number) {
    const { result, plans } = await explained(db, (exec) => accountFacts(exec, 'ws_busy', ids));
    assert.equal(plans.length, 1);
    for (const [table, perAccount] of [['accounts', 1], ['account_domains', 2]] as const) {
      const scans = scansOf(plans[0], table);
      assert.ok(scans.length > 0 && scans.every((n) => n['Node Type'] !== 'Seq Scan'), `${table}: ${JSON.stringify(plans[0])}`);
      const read = scans.reduce((sum, n) => sum + rowsRead(n), 0);
      const asked = new Set(ids).size;
      assert.ok(read <= asked * perAccount + 4, `${table}: ${read} rows read for ${asked} accounts: ${JSON.stringify(plans[0])}`);
    }
    const all = new Map((await accountFacts((text, params) => db.query(text, params), 'ws_busy')).map((f) => [f.id, f]));
    assert.equal(result.length, live);
    assert.deepEqual(
      result,
      [...new Set(ids)].filter((id) => all.has(id)).sort().map((id) => all.get(id)),
    );
    return result;
  }

  it('reads the accounts asked for and their domains (never analyzed)', async () => {
    const facts = await readAndCheck(['acct_3', 'acct_17', 'acct_150', 'acct_4', 'acct_none', 'acct_x'], 3);
    // The claimed domain first; merged, unknown and other workspaces' accounts are left out.
    assert.deepEqual(facts.map((f) => [f.id, f.domain, f.employees, f.techStack]), [
      ['acct_150', 'c150.com', 150, ['segment', 'aws']],
      ['acct_17', 'c17.com', 17, ['segment', 'aws']],
      ['acct_3', 'c3.com', 3, ['segment', 'aws']],
    ]);
  });

  it('reads by key with statistics taken while the workspace was small', async () => {
    await db.query(`DELETE FROM account_domains WHERE workspace_id = 'ws_busy' AND account_id <> 'acct_0'`);
    await db.query(`DELETE FROM accounts WHERE workspace_id = 'ws_busy' AND id <> 'acct_0'`);
    await db.query('ANALYZE accounts');
    await db.query('ANALYZE account_domains');
    await accounts(1, ACCOUNTS);
    await readAndCheck(['acct_5', 'acct_6', 'acct_7', 'acct_8', 'acct_10', 'acct_11', 'acct_12', 'acct_13'], 8);
  });

  it('reads by key once analyzed; a repeated id is read once', async () => {
    await db.query('ANALYZE accounts');
    await db.query('ANALYZE account_domains');
    await readAndCheck(['acct_42', 'acct_42', 'acct_998'], 2);
  });
});
