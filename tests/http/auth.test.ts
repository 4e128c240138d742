import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHarness, type Harness, type TestWorkspace } from '../support/harness.ts';

describe('authentication and scopes', () => {
  let h: Harness;
  let ws: TestWorkspace;
  before(async () => {
    h = await startHarness();
    ws = await h.workspace({ name: 'Acme' });
  });
  after(() => h.close());

  it('answers 401 without a key, naming the fix', async () => {
    const r = await h.api(null).get('/v1/workspace');
    assert.equal(r.status, 401);
    assert.equal(r.body.error.code, 'api_key_missing');
    assert.equal(r.body.error.type, 'authentication_error');
    assert.match(r.body.error.request_id, /^req_/);
  });

  it('answers 401 for an unknown or malformed key', async () => {
    assert.equal((await h.api('sk_doesnotexist00000000000000000000').get('/v1/workspace')).body.error.code, 'api_key_invalid');
    assert.equal((await h.api('garbage').get('/v1/workspace')).status, 401);
  });

  it('serves the workspace of the key', async () => {
    const r = await h.api(ws).get('/v1/workspace');
    assert.equal(r.status, 200);
    assert.equal(r.body.id, ws.id);
    assert.equal(r.body.name, 'Acme');
    assert.equal(r.body.sandbox, true);
    assert.ok(r.body.test_clock.frozen_time);
  });

  it('answers 403 when the scope is too narrow', async () => {
    const created = await h.api(ws).post('/v1/api_keys', { name: 'read only', scopes: ['read'] });
    assert.equal(created.status, 200);
    assert.match(created.body.secret, /^sk_/);
    const ro = created.body.secret as string;
    assert.equal((await h.api(ro).get('/v1/workspace')).status, 200);
    const denied = await h.api(ro).post('/v1/test_clock/advance', { by: 'P1D' });
    assert.equal(denied.status, 403);
    assert.equal(denied.body.error.code, 'api_key_scope');
    assert.equal((await h.api(ro).get('/v1/api_keys')).status, 403, 'listing keys needs admin');
  });

  it('refuses a write key on the management API, as Bearer or as Basic user name', async () => {
    const r = await h.api(ws.writeKey).get('/v1/workspace');
    assert.equal(r.status, 403);
    assert.equal(r.body.error.code, 'write_key_not_allowed');
    const basic = await h.tandem.app.inject({ method: 'GET', url: '/v1/workspace', headers: { authorization: `Basic ${Buffer.from(`${ws.writeKey}:`).toString('base64')}` } });
    assert.equal(basic.statusCode, 403);
    const secretAsBasic = await h.tandem.app.inject({ method: 'GET', url: '/v1/workspace', headers: { authorization: `Basic ${Buffer.from(`${ws.secretKey}:`).toString('base64')}` } });
    assert.equal(secretAsBasic.statusCode, 200);
  });

  it('stops accepting a revoked key', async () => {
    const created = await h.api(ws).post('/v1/api_keys', { name: 'temp', scopes: ['write'] });
    const revoked = await h.api(ws).delete(`/v1/api_keys/${created.body.id}`);
    assert.equal(revoked.status, 200);
    assert.ok(revoked.body.revoked_at);
    assert.equal((await h.api(created.body.secret).get('/v1/workspace')).status, 401);
  });

  it('stops accepting a revoked key of a live workspace at once, although authenticated keys are cached', async () => {
    // Live workspaces' keys are cached in-process for a few seconds (sandboxes read their test clock every time).
    const live = await h.workspace({ name: 'Live', sandbox: false });
    const created = await h.api(live).post('/v1/api_keys', { name: 'cached', scopes: ['read'] });
    const key = created.body.secret as string;
    assert.equal((await h.api(key).get('/v1/workspace')).status, 200);
    assert.equal((await h.api(key).get('/v1/workspace')).status, 200, 'served from the cache');
    assert.equal((await h.api(live).delete(`/v1/api_keys/${created.body.id}`)).status, 200);
    const after = await h.api(key).get('/v1/workspace');
    assert.equal(after.status, 401);
    assert.equal(after.body.error.code, 'api_key_invalid');
    // The workspace's other keys, cached too, still work.
    assert.equal((await h.api(live).get('/v1/workspace')).status, 200);
    assert.equal((await h.api(live.writeKey).post('/v1/track', { userId: 'u1', event: 'E' }, { authorization: `Basic ${Buffer.from(`${live.writeKey}:`).toString('base64')}` })).status, 200);
  });

  it('never stores a key in clear', async () => {
    const created = await h.api(ws).post('/v1/api_keys', { name: 'hashed', scopes: ['read'] });
    const found = await h.database.query<{ n: number }>('SELECT count(*)::int AS n FROM api_keys WHERE key_hash = $1 OR redacted = $1', [created.body.secret]);
    assert.equal(found[0].n, 0);
    const listed = await h.api(ws).get('/v1/api_keys?limit=100');
    assert.ok(listed.body.data.every((k: any) => !('secret' in k)));
  });
});
