import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Database } from '../../src/db/client.ts';
import { openTestDatabase } from '../../src/db/testing.ts';
import { execOn, type Exec } from '../../src/modules/events/index.ts';
import { holdAccounts, markDirty, nextReady, takeDirty } from '../../src/modules/scoring/work.repo.ts';
import { explained, rowsRead, scansOf, type PlanNode } from '../support/plans.ts';

/**
 * Under sustained ingestion nearly every busy account is dirty and most are held (pacing, see
 * scoring/schedule.ts). A flush must read the accounts that are ready, not every dirty account
 * with a look-up of its hold: the ingest bench's pg_stat_statements showed ~3,000 buffers per
 * flush step to take ~30 of 1,000 dirty accounts, and as much again for the next hold's end.
 * Checked with 1,000 dirty accounts of which 969 are held, never analyzed, analyzed while small
 * then grown, and analyzed. With statistics that call the dirty set tiny (analyzed while small), a
 * planner may read it whole rather than through the index — one pass, at most, and no hold is
 * looked up but those of the accounts found ready; autovacuum's next analyze of a table that churns this fast ends that state (PGlite
 * never analyzes on its own: it stays in the first state).
 */
describe("a flush reads the dirty accounts that are ready, and an account's hold only when it is marked or found ready", () => {
  let db: Database;
  const N = 1000;
  const T = new Date('2026-03-10T12:00:00.000Z');
  const at = (ms: number) => new Date(T.getTime() + ms);
  const id = (n: number) => `acct_${String(n).padStart(4, '0')}`;
  /** Every account but each 33rd (31 of them) is held until T + 10 s. */
  const held = (n: number) => n % 33 !== 0;

  /** Holds, then marks at T (in two calls: the second mark of an account is a no-op), for accounts [from, to) of ws_busy. */
  async function fill(from: number, to: number) {
    const ns = Array.from({ length: to - from }, (_, k) => from + k);
    await db.query(
      `INSERT INTO scoring_holds (workspace_id, account_id, until, rescored_at) SELECT 'ws_busy', a, $1::timestamptz, $2::timestamptz FROM unnest($3::text[]) AS a`,
      [at(10_000).toISOString(), at(-1_000).toISOString(), ns.filter(held).map(id)],
    );
    const exec = execOn(db);
    await markDirty(exec, 'ws_busy', ns.map(id), T);
    await markDirty(exec, 'ws_busy', ns.map(id), at(500));
  }

  before(async () => {
    db = await openTestDatabase();
    await db.query(`INSERT INTO workspaces (id, name, created_at) VALUES ('ws_busy', 'Busy', now()), ('ws_other', 'Other', now())`);
    await fill(0, N);
    // Another workspace's ready accounts are never taken.
    await markDirty(execOn(db), 'ws_other', [id(1), id(2)], T);
  });
  after(async () => {
    await db?.close();
  });

  const ready = () => Array.from({ length: N }, (_, n) => n).filter((n) => !held(n)).map(id);

  /**
   * Checks `read`: no hold is looked up; the dirty set is read at most once over (plus `perKey` rows per
   * account found), and — unless `byIndex` is false — the ready condition is the ready index's: the scan
   * applying it reads at most the accounts found + 4.
   */
  async function reads<T>(read: (x: Exec) => Promise<T>, keys: number, perKey: number, byIndex: boolean, holdsOfFound = false): Promise<T> {
    const { result, plans } = await explained(db, read);
    const dirty = plans.flatMap((p: PlanNode) => scansOf(p, 'scoring_dirty_accounts'));
    assert.ok(dirty.reduce((s, n) => s + rowsRead(n), 0) <= N + keys * perKey + 4, JSON.stringify(plans));
    const holds = plans.flatMap((p: PlanNode) => scansOf(p, 'scoring_holds'));
    if (!holdsOfFound) assert.deepEqual(holds, [], 'no hold is looked up');
    else {
      const loops = holds.reduce((s, n) => s + (n['Actual Loops'] ?? 1), 0);
      assert.ok(holds.every((n) => n['Node Type'] !== 'Seq Scan') && loops <= keys && holds.reduce((s, n) => s + rowsRead(n), 0) <= keys, `the holds of the accounts found only: ${JSON.stringify(plans)}`);
    }
    if (byIndex) {
      // An index scan with the condition, or a bitmap heap scan rechecking it over a bitmap index scan.
      const ready = dirty.filter((n) => `${n['Index Cond'] ?? ''} ${n['Recheck Cond'] ?? ''}`.includes('ready_at'));
      const indexes = ready.flatMap((n) => [n['Index Name'], ...(n.Plans ?? []).map((c) => c['Index Name'])]).filter(Boolean);
      assert.ok(ready.length > 0 && indexes.every((i) => i === 'scoring_dirty_accounts_ready'), JSON.stringify(plans));
      assert.ok(ready.reduce((s, n) => s + rowsRead(n), 0) <= keys + 4, JSON.stringify(plans));
    }
    return result;
  }

  async function check(byIndex = true) {
    // The marks: the first wins; a held account is ready at its hold's end.
    const rows = await db.query<{ account_id: string; marked_at: Date; ready_at: Date }>(`SELECT account_id, marked_at, ready_at FROM scoring_dirty_accounts WHERE workspace_id = 'ws_busy'`);
    assert.equal(rows.length, N);
    for (const r of rows) {
      assert.equal(r.marked_at.getTime(), T.getTime(), r.account_id);
      assert.equal(r.ready_at.getTime(), held(Number(r.account_id.slice(5))) ? at(10_000).getTime() : T.getTime(), r.account_id);
    }

    // The next instant an account is ready after a flush at 1,000 (here a hold's end): one entry of the ready index.
    const next = await reads((x) => nextReady(x, 'ws_busy', at(1_000)), 1, 1, byIndex);
    assert.equal(next?.toISOString(), at(10_000).toISOString());

    // The 31 ready accounts, oldest mark first (then by id): each read by the subquery (with a look-up of its hold), found again and deleted by the outer statement.
    const taken = await reads((x) => takeDirty(x, 'ws_busy', 5000, at(1_000)), ready().length, 3, byIndex, true);
    assert.deepEqual([...taken].sort(), ready());
    assert.deepEqual(await takeDirty(execOn(db), 'ws_busy', 5000, at(1_000)), [], 'the held accounts stay');

    // Marking again: accounts still dirty are not looked up; a new mark of a held account is ready at its hold's end.
    const again = [...ready().slice(0, 5), id(1), id(2)];
    const marked = await explained(db, (x) => markDirty(x, 'ws_busy', again, at(2_000)));
    const holdReads = marked.plans.flatMap((p) => scansOf(p, 'scoring_holds'));
    assert.ok(holdReads.reduce((s, n) => s + (n['Actual Loops'] ?? 1), 0) <= 5, `holds looked up for the 5 new marks only: ${JSON.stringify(marked.plans)}`);
    const after5 = await db.query<{ account_id: string; ready_at: Date }>(`SELECT account_id, ready_at FROM scoring_dirty_accounts WHERE workspace_id = 'ws_busy' AND account_id = ANY($1) ORDER BY account_id`, [again]);
    assert.deepEqual(
      after5.map((r) => [r.account_id, r.ready_at.toISOString()]),
      again.map((a) => [a, (a === id(1) || a === id(2) ? at(10_000) : at(2_000)).toISOString()]).sort(),
    );

    // A hold placed on accounts marked again meanwhile moves their ready_at: they are no longer taken. (A first
    // batch records the rescore at 2,400; the second, soon after, finds them hot and holds them until the
    // workspace's release, 1,000 ms of rest after it: 3,500.) Each account's hold is one look-up, and no
    // statement reads the other accounts' holds.
    const hot = { hotSince: at(-10_000), restMs: 1_000 };
    for (const t of [2_400, 2_500]) {
      const { plans } = await explained(db, (x) => holdAccounts(x, 'ws_busy', ready().slice(0, 5), { ...hot, at: at(t) }));
      const dirty = plans.flatMap((p: PlanNode) => scansOf(p, 'scoring_dirty_accounts'));
      assert.ok(dirty.every((n) => n['Node Type'] !== 'Seq Scan') && dirty.reduce((s, n) => s + rowsRead(n), 0) <= 5 * 3 + 4, `one look-up per account held: ${JSON.stringify(plans)}`);
      const holds = plans.flatMap((p: PlanNode) => scansOf(p, 'scoring_holds')).filter((n) => n['Node Type'] !== 'ModifyTable');
      assert.ok(holds.every((n) => n['Node Type'] !== 'Seq Scan') && holds.reduce((s, n) => s + rowsRead(n), 0) <= 5 + 4, `one look-up of its own hold per account: ${JSON.stringify(plans)}`);
    }
    assert.deepEqual(await takeDirty(execOn(db), 'ws_busy', 5000, at(3_000)), [], 'held after their mark');
    assert.equal((await nextReady(execOn(db), 'ws_busy', at(3_000)))?.toISOString(), at(3_500).toISOString());
    // An account marked while a flush that began at 3,000 ran is ready at its mark: the next flush follows at once.
    await markDirty(execOn(db), 'ws_busy', [ready()[6]], at(3_200));
    assert.equal((await nextReady(execOn(db), 'ws_busy', at(3_000)))?.toISOString(), at(3_200).toISOString());
    assert.deepEqual((await takeDirty(execOn(db), 'ws_busy', 5000, at(3_500))).sort(), [...ready().slice(0, 5), ready()[6]].sort(), 'ready at the release');
    assert.equal((await nextReady(execOn(db), 'ws_busy', at(3_500)))?.toISOString(), at(10_000).toISOString(), 'then the held accounts');
    assert.deepEqual((await takeDirty(execOn(db), 'ws_other', 5000, at(1_000))).sort(), [id(1), id(2)]);

    // A mark that ran while its account's hold was being placed read the previous hold: ready too early. The take
    // looks the hold up, leaves the account and moves its ready_at to the hold's end.
    await db.query(`UPDATE scoring_dirty_accounts SET ready_at = marked_at WHERE workspace_id = 'ws_busy' AND account_id = $1`, [id(1)]);
    assert.deepEqual(await takeDirty(execOn(db), 'ws_busy', 5000, at(4_000)), [], 'held until 10,000');
    const [early] = await db.query<{ ready_at: Date }>(`SELECT ready_at FROM scoring_dirty_accounts WHERE workspace_id = 'ws_busy' AND account_id = $1`, [id(1)]);
    assert.equal(early.ready_at.toISOString(), at(10_000).toISOString());
  }

  async function reset() {
    for (const t of ['scoring_dirty_accounts', 'scoring_holds', 'scoring_state']) await db.query(`DELETE FROM ${t}`);
  }

  it('never analyzed', async () => {
    await check();
  });

  it('analyzed while the dirty set was small, then grown', async () => {
    await reset();
    await fill(0, 3);
    for (const t of ['scoring_dirty_accounts', 'scoring_holds']) await db.query(`ANALYZE ${t}`);
    await fill(3, N);
    await markDirty(execOn(db), 'ws_other', [id(1), id(2)], T);
    await check(false);
  });

  it('analyzed', async () => {
    await reset();
    await fill(0, N);
    await markDirty(execOn(db), 'ws_other', [id(1), id(2)], T);
    for (const t of ['scoring_dirty_accounts', 'scoring_holds']) await db.query(`ANALYZE ${t}`);
    await check();
  });
});
