import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHarness, type Harness, type TestWorkspace } from '../../../../tests/support/harness.ts';
import { getDefaultPaymentMethod } from '../index.ts';

const visa = { number: '4242 4242 4242 4242', exp_month: 12, exp_year: 2030, cvc: '123' };
const pmBody = (account: string, card: object = visa, extra: object = {}) => ({ account, type: 'card', card, ...extra });

describe('payment methods API', () => {
  let h: Harness;
  let ws: TestWorkspace;
  let other: TestWorkspace;
  before(async () => {
    h = await startHarness();
    ws = await h.workspace({ clockStart: '2026-01-15T12:00:00Z' });
    other = await h.workspace();
  });
  after(() => h.close());

  it('saves a card with only brand, last 4, expiry and fingerprint, and reads it back', async () => {
    const r = await h.api(ws).post('/v1/payment_methods', pmBody('acct_happy'));
    assert.equal(r.status, 200, r.raw.body);
    assert.match(r.body.id, /^pm_/);
    assert.equal(r.body.object, 'payment_method');
    assert.equal(r.body.account, 'acct_happy');
    assert.equal(r.body.status, 'active');
    assert.equal(r.body.default, false);
    assert.equal(r.body.created_at, '2026-01-15T12:00:00.000Z', 'created on the workspace clock');
    assert.deepEqual(Object.keys(r.body.card).sort(), ['brand', 'exp_month', 'exp_year', 'fingerprint', 'last4']);
    assert.equal(r.body.card.brand, 'visa');
    assert.equal(r.body.card.last4, '4242');
    assert.match(r.body.card.fingerprint, /^[0-9a-f]{32}$/);
    const got = await h.api(ws).get(`/v1/payment_methods/${r.body.id}`);
    assert.deepEqual(got.body, r.body);
    const mc = await h.api(ws).post('/v1/payment_methods', pmBody('acct_happy', { number: '5555555555554444', exp_month: 1, exp_year: 31, cvc: '999' }));
    assert.equal(mc.body.card.brand, 'mastercard');
    assert.equal(mc.body.card.exp_year, 2031);
    const list = await h.api(ws).get('/v1/payment_methods?account=acct_happy');
    assert.deepEqual(list.body.data.map((p: any) => p.id), [mc.body.id, r.body.id], 'newest first');
    const paged = await h.api(ws).get(`/v1/payment_methods?account=acct_happy&limit=1`);
    assert.equal(paged.body.has_more, true);
    const next = await h.api(ws).get(`/v1/payment_methods?account=acct_happy&limit=1&starting_after=${paged.body.data[0].id}`);
    assert.deepEqual(next.body.data.map((p: any) => p.id), [r.body.id]);
    assert.equal(next.body.has_more, false);
  });

  it('fingerprints the same number alike within a workspace, differently across workspaces', async () => {
    const a1 = await h.api(ws).post('/v1/payment_methods', pmBody('acct_fp1'));
    const a2 = await h.api(ws).post('/v1/payment_methods', pmBody('acct_fp2', { ...visa, number: '4242-4242-4242-4242' }));
    const b = await h.api(other).post('/v1/payment_methods', pmBody('acct_fp1'));
    assert.equal(a1.body.card.fingerprint, a2.body.card.fingerprint);
    assert.notEqual(a1.body.card.fingerprint, b.body.card.fingerprint);
  });

  it('refuses invalid card input with a 400 naming the parameter', async () => {
    const cases: Array<[object, number, string, string | null]> = [
      [pmBody('acct_x', { ...visa, number: '4242424242424241' }), 400, 'card_number_invalid', 'card.number'],
      [pmBody('acct_x', { ...visa, number: '4242 abcd 4242 4242' }), 400, 'card_number_invalid', 'card.number'],
      [pmBody('acct_x', { ...visa, exp_month: 13 }), 400, 'parameter_invalid', 'card.exp_month'],
      [pmBody('acct_x', { ...visa, cvc: '12a' }), 400, 'parameter_invalid', 'card.cvc'],
      [pmBody('acct_x', { number: '378282246310005', exp_month: 1, exp_year: 2030, cvc: '123' }), 400, 'parameter_invalid', 'card.cvc'],
      [pmBody('acct_x', { ...visa, exp_month: 12, exp_year: 2025 }), 400, 'card_expired', 'card.exp_year'],
      [{ account: 'acct_x', type: 'card' }, 400, 'parameter_missing', 'card'],
      [pmBody('not-an-account'), 400, 'parameter_invalid', 'account'],
      [{ type: 'card', card: visa }, 400, 'parameter_missing', 'account'],
      [pmBody('acct_x', { ...visa, number: '4000000000000002' }), 402, 'card_declined', 'card'],
      [{ account: 'acct_x', type: 'bank_transfer', default: true }, 400, 'parameter_invalid', 'default'],
      [{ account: 'acct_x', type: 'bank_transfer', card: visa }, 400, 'parameter_invalid', 'card'],
    ];
    for (const [body, status, code, param] of cases) {
      const r = await h.api(ws).post('/v1/payment_methods', body);
      assert.equal(r.status, status, `${JSON.stringify(body)} → ${r.raw.body}`);
      assert.equal(r.body.error.code, code, r.raw.body);
      assert.equal(r.body.error.param, param, r.raw.body);
      assert.ok(!r.raw.body.includes('4242424242424241'), 'the number is not echoed');
    }
    const declined = await h.api(ws).post('/v1/payment_methods', pmBody('acct_x', { ...visa, number: '4000000000000002' }));
    assert.equal(declined.body.error.type, 'card_error');
    assert.equal((await h.api(ws).get('/v1/payment_methods?account=acct_x')).body.data.length, 0, 'nothing saved');
  });

  it('judges expiry on the workspace test clock', async () => {
    const card = { ...visa, exp_month: 2, exp_year: 2026 };
    assert.equal((await h.api(ws).post('/v1/payment_methods', pmBody('acct_exp', card))).status, 200);
    const moved = await h.api(ws).post('/v1/test_clock/advance', { to: '2026-03-01T00:00:00Z' });
    assert.equal(moved.status, 200);
    const refused = await h.api(ws).post('/v1/payment_methods', pmBody('acct_exp', card));
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error.code, 'card_expired');
    assert.match(refused.body.error.message, /02\/2026/);
  });

  it('keeps one default card per account; without one, the most recent active card is the default', async () => {
    const first = (await h.api(ws).post('/v1/payment_methods', pmBody('acct_def', visa, { default: true }))).body;
    assert.equal(first.default, true);
    const second = (await h.api(ws).post('/v1/payment_methods', pmBody('acct_def'))).body;
    const db = h.database.db;
    assert.equal((await getDefaultPaymentMethod(db, ws.id, 'acct_def'))?.id, first.id, 'the flagged card wins over a newer one');
    const set = await h.api(ws).post(`/v1/payment_methods/${second.id}`, { default: true });
    assert.equal(set.status, 200);
    assert.equal(set.body.default, true);
    assert.equal((await h.api(ws).get(`/v1/payment_methods/${first.id}`)).body.default, false);
    assert.equal((await getDefaultPaymentMethod(db, ws.id, 'acct_def'))?.id, second.id);
    const detached = await h.api(ws).post(`/v1/payment_methods/${second.id}/detach`);
    assert.equal(detached.status, 200);
    assert.equal(detached.body.status, 'detached');
    assert.equal(detached.body.default, false);
    assert.ok(detached.body.detached_at);
    assert.equal((await getDefaultPaymentMethod(db, ws.id, 'acct_def'))?.id, first.id, 'falls back to the remaining active card');
    const again = await h.api(ws).post(`/v1/payment_methods/${second.id}/detach`);
    assert.equal(again.status, 200, 'detaching twice is a no-op');
    const noDefault = await h.api(ws).post(`/v1/payment_methods/${second.id}`, { default: true });
    assert.equal(noDefault.status, 409);
    assert.equal(noDefault.body.error.param, 'default');
    const active = await h.api(ws).get('/v1/payment_methods?account=acct_def');
    assert.deepEqual(active.body.data.map((p: any) => p.id), [first.id]);
    const gone = await h.api(ws).get('/v1/payment_methods?account=acct_def&status=detached');
    assert.deepEqual(gone.body.data.map((p: any) => p.id), [second.id]);
    await h.api(ws).post(`/v1/payment_methods/${first.id}/detach`);
    assert.equal(await getDefaultPaymentMethod(db, ws.id, 'acct_def'), undefined);
    const bank = await h.api(ws).post('/v1/payment_methods', { account: 'acct_def', type: 'bank_transfer' });
    assert.equal(bank.status, 200);
    assert.equal(bank.body.card, null);
    assert.equal(await getDefaultPaymentMethod(db, ws.id, 'acct_def'), undefined, 'a bank transfer is never charged automatically');
    assert.equal((await h.api(ws).post(`/v1/payment_methods/${bank.body.id}`, { default: true })).status, 400);
  });

  it('answers 404 for another workspace’s payment method, changing nothing', async () => {
    const pm = (await h.api(ws).post('/v1/payment_methods', pmBody('acct_iso'))).body;
    for (const r of [
      await h.api(other).get(`/v1/payment_methods/${pm.id}`),
      await h.api(other).post(`/v1/payment_methods/${pm.id}`, { default: true }),
      await h.api(other).post(`/v1/payment_methods/${pm.id}/detach`),
      await h.api(ws).get('/v1/payment_methods/pm_doesnotexist'),
    ]) {
      assert.equal(r.status, 404);
      assert.equal(r.body.error.code, 'resource_missing');
    }
    const still = await h.api(ws).get(`/v1/payment_methods/${pm.id}`);
    assert.equal(still.body.status, 'active');
    assert.equal(still.body.default, false);
    assert.ok(!(await h.api(other).get('/v1/payment_methods?account=acct_iso')).raw.body.includes(pm.id));
  });

  it('replays a POST with the same Idempotency-Key, saving one card', async () => {
    const headers = { 'idempotency-key': 'save-card-1' };
    const a = await h.api(ws).post('/v1/payment_methods', pmBody('acct_idem'), headers);
    const b = await h.api(ws).post('/v1/payment_methods', pmBody('acct_idem'), headers);
    assert.equal(b.headers['idempotent-replayed'], 'true');
    assert.equal(a.body.id, b.body.id);
    assert.equal((await h.api(ws).get('/v1/payment_methods?account=acct_idem')).body.data.length, 1);
  });

  it('never stores, returns or audits the card number or the cvc', async () => {
    const secret = { number: '5555 5555 5555 4444', exp_month: 7, exp_year: 2032, cvc: '731' };
    const r = await h.api(ws).post('/v1/payment_methods', pmBody('acct_secret', secret));
    assert.equal(r.status, 200);
    assert.ok(!r.raw.body.includes('5555555555554444') && !r.raw.body.includes('"cvc"'));
    const tables = await h.database.query<{ table_name: string }>(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`);
    assert.ok(tables.some((t) => t.table_name === 'sandbox_cards'));
    for (const { table_name } of tables) {
      const rows = await h.database.query<{ j: string }>(`SELECT row_to_json(t)::text AS j FROM "${table_name}" t`);
      for (const { j } of rows) {
        assert.ok(!j.includes('5555555555554444') && !j.includes('5555 5555 5555 4444'), `${table_name} holds the card number`);
        assert.ok(!/"cvc"/.test(j), `${table_name} holds a cvc`);
      }
    }
    const audit = await h.api(ws).get(`/v1/audit_log?entity_id=${r.body.id}`);
    assert.equal(audit.body.data.length, 1);
    assert.equal(audit.body.data[0].action, 'payment_method.created');
    assert.deepEqual(audit.body.data[0].after.card, { brand: 'mastercard', last4: '4444', exp_month: 7, exp_year: 2032, fingerprint: r.body.card.fingerprint });
    assert.ok(!JSON.stringify(audit.body.data[0]).includes('tok_'), 'the processor token stays internal');
  });
});
