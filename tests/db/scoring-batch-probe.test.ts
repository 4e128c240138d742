import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Database } from '../../src/db/client.ts';
import { openTestDatabase } from '../../src/db/testing.ts';
import { execOn, type Exec } from '../../src/modules/events/index.ts';
import { cachedProfiles } from '../../src/modules/scoring/enrichment/provider.ts';
import { accountFacts, latestFirmographics, liveAccounts, loadScores, loadScoreStates, priorLevels } from '../../src/modules/scoring/scoring.repo.ts';
import { readsByKey } from '../support/plans.ts';

/**
 * A flush re-scores a batch of accounts and reads, for those accounts, their facts (firmographics,
 * tech stack, a domain), which are live, their latest enrichment and their stored scores. Each must
 * be a lookup of those accounts: `bench ingest` (auto_explain) logged the facts read as a filtered
 * scan of the workspace's accounts, each joined to every domain row by a nested loop (225,443 rows
 * discarded at worst), and the others as filtered scans of the workspace's rows — the plans that
 * statistics taken while the tables were nearly empty give. The test runs the real statements under
 * EXPLAIN ANALYZE never analyzed, analyzed while small then grown, and analyzed; and checks each
 * returns what the workspace-wide read returns for those accounts.
 */
describe('a batch of accounts is read by key for scoring', () => {
  let db: Database;
  const ACCOUNTS = 1000;
  const TABLES = ['account_domains', 'scoring_scores', 'scoring_firmographics', 'enrichment_cache', 'accounts'];

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
    await db.query(
      `INSERT INTO scoring_scores (workspace_id, model_id, account_id, total, usage, fit, behavior, level, enterprise_fit, signals, indicators, points_hash, inputs_hash, computed_at, changed_at)
       SELECT 'ws_busy', 'mdl_1', 'acct_' || n, n % 100, 0, 0, 0, 'none', false, '[]', '[]', 'p' || n, 'i' || n, '2026-01-02T00:00:00Z', '2026-01-02T00:00:00Z'
       FROM unnest($1::int[]) AS n`,
      [rows],
    );
    // Scores under two archived versions: every account under mdl_0, every third under mdl_2 (computed later).
    await db.query(
      `INSERT INTO scoring_scores (workspace_id, model_id, account_id, total, usage, fit, behavior, level, enterprise_fit, signals, indicators, points_hash, inputs_hash, computed_at, changed_at)
       SELECT 'ws_busy', m, 'acct_' || n, 0, 0, 0, 0, CASE WHEN m = 'mdl_2' THEN 'enterprise' ELSE 'sales_assist' END, false, '[]', '[]', 'p', 'i', t, t
       FROM unnest($1::int[]) AS n, (VALUES ('mdl_0', '2026-01-01T00:00:00Z'::timestamptz), ('mdl_2', '2026-01-01T12:00:00Z'::timestamptz)) AS v(m, t)
       WHERE m = 'mdl_0' OR n % 3 = 0`,
      [rows],
    );
    await db.query(
      `INSERT INTO scoring_firmographics (workspace_id, account_id, known_at, employees, tech_stack, sources)
       SELECT 'ws_busy', 'acct_' || n, '2026-01-01T00:00:00Z'::timestamptz + k * interval '1 day', n * 10 + k, '[]', '{}'
       FROM unnest($1::int[]) AS n, generate_series(1, 2) AS k`,
      [rows],
    );
    // The enrichment cache: each account's .com answer fresh until June, its .io answer expired.
    await db.query(
      `INSERT INTO enrichment_cache (workspace_id, provider, domain, found, data, fetched_at, expires_at)
       SELECT 'ws_busy', 'local', 'c' || n || d, true, jsonb_build_object('employees', n), '2026-01-01T00:00:00Z', e
       FROM unnest($1::int[]) AS n, (VALUES ('.com', '2026-06-01T00:00:00Z'::timestamptz), ('.io', '2026-01-01T06:00:00Z'::timestamptz)) AS v(d, e)`,
      [rows],
    );
  }

  before(async () => {
    db = await openTestDatabase();
    await db.query(`INSERT INTO workspaces (id, name, created_at) VALUES ('ws_busy', 'Busy', now()), ('ws_other', 'Other', now())`);
    await db.query(
      `INSERT INTO scoring_models (id, workspace_id, version, name, status, config, created_at)
       VALUES ('mdl_0', 'ws_busy', 1, 'v1', 'archived', '{}', now()), ('mdl_1', 'ws_busy', 3, 'v3', 'active', '{}', now()), ('mdl_2', 'ws_busy', 2, 'v2', 'archived', '{}', now())`,
    );
    await accounts(0, ACCOUNTS);
    await db.query(`INSERT INTO accounts (id, workspace_id, name, status, traits, created_at, updated_at) VALUES ('acct_x', 'ws_other', 'X', 'active', '{}', now(), now())`);
    await db.query(`INSERT INTO enrichment_cache (workspace_id, provider, domain, found, data, fetched_at, expires_at) VALUES ('ws_other', 'local', 'c3.com', true, '{}', now(), '2026-06-01T00:00:00Z')`);
  });
  after(async () => {
    await db?.close();
  });

  /** Runs `read` under EXPLAIN ANALYZE: one statement, each table read no more than `perAccount` rows per account asked (+4), and no Seq Scan. */
  async function probed<T>(read: (exec: Exec) => Promise<T>, ids: string[], tables: Record<string, number>): Promise<T> {
    const { result, plans } = await readsByKey(db, read, new Set(ids).size, tables);
    assert.equal(plans.length, 1);
    return result;
  }

  async function readAndCheck(ids: string[], live: number) {
    const unique = [...new Set(ids)];
    const facts = await probed((x) => accountFacts(x, 'ws_busy', ids), ids, { accounts: 1, account_domains: 2 });
    const allFacts = new Map((await accountFacts(execOn(db), 'ws_busy')).map((f) => [f.id, f]));
    assert.equal(facts.length, live);
    assert.deepEqual(facts, unique.filter((id) => allFacts.has(id)).sort().map((id) => allFacts.get(id)));

    const alive = await probed((x) => liveAccounts(x, 'ws_busy', ids), ids, { accounts: 1 });
    assert.deepEqual([...alive.keys()].sort(), unique.filter((id) => allFacts.has(id)).sort());

    // At most a row per version that scored the account (three here).
    const states = await probed((x) => loadScoreStates(x, 'ws_busy', 'mdl_1', ids), ids, { scoring_scores: 3 });
    const stored = await db.query<{ account_id: string }>(`SELECT account_id FROM scoring_scores WHERE workspace_id = 'ws_busy' AND model_id = 'mdl_1' AND account_id = ANY($1)`, [unique]);
    assert.deepEqual([...states.keys()].sort(), stored.map((r) => r.account_id).sort());
    // The read path (GET /v1/accounts/{id}/score): the same rows, with their breakdown.
    const scores = await probed((x) => loadScores(x, 'ws_busy', 'mdl_1', ids), ids, { scoring_scores: 3 });
    assert.deepEqual([...scores.keys()].sort(), [...states.keys()].sort());
    for (const [id, score] of scores) assert.deepEqual([score.accountId, score.modelId, score.total], [id, 'mdl_1', Number(id.slice(5)) % 100]);

    // Accounts scored for the first time under mdl_1: their level under the latest archived version that scored them.
    const prior = await probed((x) => priorLevels(x, 'ws_busy', ids, 'mdl_1'), ids, { scoring_scores: 3 });
    const known = (id: string) => /^acct_\d+$/.test(id) && Number(id.slice(5)) < ACCOUNTS;
    assert.deepEqual([...prior].sort(), unique.filter(known).sort().map((id) => [id, Number(id.slice(5)) % 3 === 0 ? 'enterprise' : 'sales_assist']));

    // The latest row before an instant, and the latest of all: the workspace-wide read's, for these accounts.
    for (const before of [new Date('2026-01-02T12:00:00Z'), undefined]) {
      const known = await probed((x) => latestFirmographics(x, 'ws_busy', { accountIds: ids, before }), ids, { scoring_firmographics: 2 });
      const all = await latestFirmographics(execOn(db), 'ws_busy', { before });
      assert.deepEqual([...known].sort(), [...all].filter(([id]) => unique.includes(id)).sort());
      for (const id of known.keys()) assert.equal(known.get(id)!.knownAt.toISOString(), before ? '2026-01-02T00:00:00.000Z' : '2026-01-03T00:00:00.000Z');
    }

    // The enrichment of their domains: fresh cache rows only (the .io answers expired), none of another workspace.
    const domains = [...unique.flatMap((id) => [`c${id.slice(5)}.com`, `c${id.slice(5)}.io`]), 'c1.com'];
    const asOf = new Date('2026-03-01T00:00:00Z');
    const cached = await probed((x) => cachedProfiles(x, { workspaceId: 'ws_busy', provider: 'local', domains, asOf }), domains, { enrichment_cache: 1 });
    const fresh = await db.query<{ domain: string }>(
      `SELECT domain FROM enrichment_cache WHERE workspace_id = 'ws_busy' AND provider = 'local' AND expires_at > $1 AND domain = ANY($2)`,
      [asOf, domains],
    );
    assert.deepEqual(cached.map((r) => r.domain).sort(), fresh.map((r) => r.domain).sort());
    assert.ok(cached.every((r) => r.domain.endsWith('.com') && r.found && r.data?.employees === Number(r.domain.slice(1, -4))), JSON.stringify(cached));
    return facts;
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
    const keep = (table: string) => (table === 'accounts' ? "id <> 'acct_0'" : table === 'enrichment_cache' ? "domain NOT LIKE 'c0.%'" : "account_id <> 'acct_0'");
    for (const table of TABLES) await db.query(`DELETE FROM ${table} WHERE workspace_id = 'ws_busy' AND ${keep(table)}`);
    for (const table of TABLES) await db.query(`ANALYZE ${table}`);
    await accounts(1, ACCOUNTS);
    await readAndCheck(['acct_5', 'acct_6', 'acct_7', 'acct_8', 'acct_10', 'acct_11', 'acct_12', 'acct_13'], 8);
  });

  it('reads by key once analyzed; a repeated id is read once', async () => {
    for (const table of TABLES) await db.query(`ANALYZE ${table}`);
    await readAndCheck(['acct_42', 'acct_42', 'acct_998'], 2);
  });
});
