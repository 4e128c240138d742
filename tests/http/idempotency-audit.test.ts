import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHarness, type Harness, type TestWorkspace } from '../support/harness.ts';

describe('Idempotency-Key', () => {
  let h: Harness;
  let ws: TestWorkspace;
  let other: TestWorkspace;
  before(async () => {
    h = await startHarness();
    ws = await h.workspace();
    other = await h.workspace();
  });
  after(() => h.close());

  const keyCount = async (wsId: string) => (await h.database.query<{ n: number }>('SELECT count(*)::int AS n FROM api_keys WHERE workspace_id = $1', [wsId]))[0].n;

  it('replays the stored response for the same key and body, creating nothing twice', async () => {
    const before = await keyCount(ws.id);
    const first = await h.api(ws).post('/v1/api_keys', { name: 'ci', scopes: ['read'] }, { 'idempotency-key': 'create-ci-key' });
    assert.equal(first.status, 200);
    // same body with keys in another order is the same request
    const again = await h.api(ws).post('/v1/api_keys', { scopes: ['read'], name: 'ci' }, { 'idempotency-key': 'create-ci-key' });
    assert.equal(again.status, 200);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.deepEqual(again.body, first.body);
    assert.equal(await keyCount(ws.id), before + 1);
  });

  it('answers 409 when the key is reused with a different body', async () => {
    await h.api(ws).post('/v1/api_keys', { name: 'one', scopes: ['read'] }, { 'idempotency-key': 'k-409' });
    const r = await h.api(ws).post('/v1/api_keys', { name: 'two', scopes: ['read'] }, { 'idempotency-key': 'k-409' });
    assert.equal(r.status, 409);
    assert.equal(r.body.error.code, 'idempotency_key_reused');
    assert.equal(r.body.error.type, 'idempotency_error');
  });

  it('replays errors too, and keys are per workspace', async () => {
    const bad = await h.api(ws).post('/v1/test_clock/advance', { by: 'nonsense' }, { 'idempotency-key': 'adv-1' });
    assert.equal(bad.status, 400);
    const replay = await h.api(ws).post('/v1/test_clock/advance', { by: 'nonsense' }, { 'idempotency-key': 'adv-1' });
    assert.equal(replay.status, 400);
    assert.equal(replay.headers['idempotent-replayed'], 'true');
    const elsewhere = await h.api(other).post('/v1/api_keys', { name: 'different', scopes: ['read'] }, { 'idempotency-key': 'create-ci-key' });
    assert.equal(elsewhere.status, 200);
    assert.equal(elsewhere.headers['idempotent-replayed'], undefined);
  });

  it('answers 409 while the first request with the key is still running', async () => {
    await h.database.query(`INSERT INTO idempotency_keys (workspace_id, key, request_hash, created_at) VALUES ($1, 'in-flight', 'x', now())`, [ws.id]);
    const r = await h.api(ws).post('/v1/api_keys', { name: 'x', scopes: ['read'] }, { 'idempotency-key': 'in-flight' });
    assert.equal(r.status, 409);
    assert.ok(['idempotency_key_in_use', 'idempotency_key_reused'].includes(r.body.error.code));
  });

  it('rejects a malformed key', async () => {
    const r = await h.api(ws).post('/v1/api_keys', { name: 'x', scopes: ['read'] }, { 'idempotency-key': 'x'.repeat(300) });
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, 'idempotency_key_invalid');
  });
});

describe('audit log', () => {
  let h: Harness;
  let ws: TestWorkspace;
  before(async () => {
    h = await startHarness();
    ws = await h.workspace();
  });
  after(() => h.close());

  it('records every mutation with actor, before/after and request id', async () => {
    const created = await h.api(ws).post('/v1/api_keys', { name: 'audited', scopes: ['write'] });
    const revoked = await h.api(ws).delete(`/v1/api_keys/${created.body.id}`);
    assert.equal(revoked.status, 200);
    const log = await h.api(ws).get(`/v1/audit_log?entity_id=${created.body.id}`);
    assert.equal(log.status, 200);
    assert.deepEqual(
      log.body.data.map((e: any) => e.action),
      ['api_key.revoked', 'api_key.created'],
    );
    const [rev, cre] = log.body.data;
    assert.equal(cre.actor.type, 'api_key');
    assert.match(cre.actor.id, /^key_/);
    assert.equal(cre.before, null);
    assert.equal(cre.after.name, 'audited');
    assert.equal(rev.before.revoked_at, null);
    assert.ok(rev.after.revoked_at);
    assert.equal(rev.request_id, revoked.headers['request-id']);
  });

  it('records workspace creation and test clock advances', async () => {
    await h.api(ws).post('/v1/test_clock/advance', { by: 'P1D' });
    const log = await h.api(ws).get('/v1/audit_log?limit=100');
    const actions = log.body.data.map((e: any) => e.action);
    assert.ok(actions.includes('workspace.created'));
    assert.ok(actions.includes('test_clock.advanced'));
  });

  it('paginates newest first with starting_after', async () => {
    for (let i = 0; i < 5; i++) await h.api(ws).post('/v1/api_keys', { name: `k${i}`, scopes: ['read'] });
    const p1 = await h.api(ws).get('/v1/audit_log?limit=3');
    assert.equal(p1.body.data.length, 3);
    assert.equal(p1.body.has_more, true);
    const p2 = await h.api(ws).get(`/v1/audit_log?limit=3&starting_after=${p1.body.data[2].id}`);
    const ids = [...p1.body.data, ...p2.body.data].map((e: any) => e.id);
    assert.equal(new Set(ids).size, ids.length);
    assert.deepEqual(ids, [...ids].sort().reverse());
    const bad = await h.api(ws).get('/v1/audit_log?limit=1000');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.param, 'limit');
  });
});
