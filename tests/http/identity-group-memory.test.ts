import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Ctx } from '../../src/context.ts';
import { GroupAccounts, groupAccountsOf } from '../../src/modules/accounts/identity.service.ts';
import { execOn, type Exec } from '../../src/modules/events/index.ts';
import { postOk, startHarness, type Harness, type TestWorkspace } from '../support/harness.ts';

const basic = (key: string) => ({ authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}` });

/**
 * Ingestion keeps group id → account in memory while the workspace's identity epoch stands still
 * (accounts `GroupAccounts`). Nothing in memory is dropped by the process that makes a change:
 * a merge or an external_id change moves the epoch in the database, which is how any other
 * process hears of it too — so these tests, made in one process, check the path every process takes.
 */
describe('group ids in memory', () => {
  let h: Harness;
  let ws: TestWorkspace;
  let n = 0;
  const ctx = (): Ctx => ({ deps: h.tandem.deps, workspaceId: ws.id, asOf: h.clock.now(), actor: { type: 'cli' } });
  const track = async (groupId: string) => {
    const messageId = `gm-${++n}`;
    const r = await h.api(null).post('/v1/track', { userId: `u${n}`, event: 'E', messageId, context: { groupId } }, basic(ws.writeKey));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const [row] = await h.database.query<{ account_id: string | null }>('SELECT account_id FROM product_events WHERE workspace_id = $1 AND message_id = $2', [ws.id, messageId]);
    return row.account_id;
  };
  const createAccount = async (body: Record<string, unknown>) => (await postOk(h.api(ws), '/v1/accounts', body)).id as string;

  before(async () => {
    h = await startHarness();
    ws = await h.workspace({ name: 'Group memory' });
  });
  after(() => h.close());

  it('answers held group ids with one read of the epoch, and looks up only the others', async () => {
    const acme = await createAccount({ name: 'Acme', external_id: 'g-acme' });
    const beta = await createAccount({ name: 'Beta', external_id: 'g-beta' });
    assert.equal(await track('g-acme'), acme);
    const statements: string[] = [];
    const exec: Exec = (text, params, opts) => {
      statements.push(text.includes('accounts') ? 'lookup' : 'epoch');
      return execOn(h.database)(text, params, opts);
    };
    const memory = groupAccountsOf(ctx());
    assert.ok(memory.holds('g-acme'));
    const first = await memory.lookup(exec, ws.id, ['g-acme', 'g-beta', 'g-none']);
    assert.deepEqual(Object.fromEntries(first), { 'g-acme': acme, 'g-beta': beta });
    assert.deepEqual(statements, ['epoch', 'lookup'], 'the held one from memory, the two others looked up');
    statements.length = 0;
    const again = await memory.lookup(exec, ws.id, ['g-acme', 'g-beta']);
    assert.deepEqual(Object.fromEntries(again), { 'g-acme': acme, 'g-beta': beta });
    assert.deepEqual(statements, ['epoch']);
    assert.ok(!memory.holds('g-none'), 'an unknown group id is never kept');
  });

  it('a merge made anywhere: the merged account’s group id names the survivor at once', async () => {
    const source = await createAccount({ name: 'Source', external_id: 'g-source' });
    const survivor = await createAccount({ name: 'Survivor', external_id: 'g-survivor' });
    assert.equal(await track('g-source'), source);
    assert.ok(groupAccountsOf(ctx()).holds('g-source'));
    const r = await h.api(ws).post(`/v1/accounts/${source}/merge`, { into: survivor });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(await track('g-source'), survivor);
  });

  it('an external_id changed or removed through the API', async () => {
    const a = await createAccount({ name: 'Renamed', external_id: 'g-old' });
    assert.equal(await track('g-old'), a);
    let r = await h.api(ws).post(`/v1/accounts/${a}`, { external_id: 'g-new' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(await track('g-new'), a);
    const other = await track('g-old');
    assert.ok(other && other !== a, `the old group id names a new account now, not ${a}`);
    r = await h.api(ws).post(`/v1/accounts/${a}`, { external_id: null });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const fresh = await track('g-new');
    assert.ok(fresh && fresh !== a, 'a removed external id no longer names the account');
  });

  it('interleaved lookups: one that read before a merge and finishes after another read past it keeps nothing', async () => {
    // Every statement waits until the test answers it, so the two lookups interleave as scripted.
    const pending: Array<{ text: string; answer: (rows: Record<string, unknown>[]) => void }> = [];
    const exec: Exec = <T>(text: string) => new Promise<T[]>((resolve) => pending.push({ text, answer: (rows) => resolve(rows as T[]) }));
    const next = async () => {
      for (let i = 0; i < 20 && pending.length === 0; i++) await new Promise((r) => setImmediate(r));
      return pending.shift()!;
    };
    const lookupRows = (epoch: number, id: string) => [{ external_id: null, id: null, epoch }, { external_id: 'g', id, epoch: null }];
    const memory = new GroupAccounts();
    const a = memory.lookup(exec, 'ws', ['g']);
    (await next()).answer([{ epoch: 5 }]); // A reads epoch 5
    const aLookup = await next(); // A looks g up: held back
    assert.match(aLookup.text, /UNION ALL/);
    const b = memory.lookup(exec, 'ws', ['g']);
    (await next()).answer([{ epoch: 6 }]); // a merge committed: B reads epoch 6
    (await next()).answer(lookupRows(6, 'acct_survivor'));
    assert.equal((await b).get('g'), 'acct_survivor');
    aLookup.answer(lookupRows(5, 'acct_merged')); // A's snapshot was taken before the merge
    assert.equal((await a).get('g'), 'acct_merged', 'A answers what its snapshot saw');
    const c = memory.lookup(exec, 'ws', ['g']);
    (await next()).answer([{ epoch: 6 }]);
    assert.equal((await c).get('g'), 'acct_survivor', 'memory holds the survivor, not what A read before the merge');
    assert.equal(pending.length, 0, 'answered from memory');
  });

  it('another workspace’s memory is its own', async () => {
    const mine = await createAccount({ name: 'Mine', external_id: 'g-shared' });
    assert.equal(await track('g-shared'), mine);
    const other = await h.workspace({ name: 'Other' });
    const r = await h.api(null).post('/v1/track', { userId: 'x', event: 'E', messageId: 'gm-other', context: { groupId: 'g-shared' } }, basic(other.writeKey));
    assert.equal(r.status, 200);
    const [row] = await h.database.query<{ account_id: string }>('SELECT account_id FROM product_events WHERE workspace_id = $1 AND message_id = $2', [other.id, 'gm-other']);
    assert.ok(row.account_id && row.account_id !== mine);
  });
});
