import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Ctx } from '../../../context.ts';
import { startHarness, type Harness, type TestWorkspace } from '../../../../tests/support/harness.ts';
import { chargeCard, getProcessor, listPayments, paymentError, recordManualPayment, type PaymentAttempt } from '../index.ts';

const usd = (amount: number) => ({ amount, currency: 'usd' });

describe('card charges through the sandbox processor', () => {
  let h: Harness;
  let ws: TestWorkspace;
  let other: TestWorkspace;
  before(async () => {
    h = await startHarness();
    ws = await h.workspace({ clockStart: '2026-01-15T12:00:00Z' });
    other = await h.workspace();
  });
  after(() => h.close());

  /** A command context on the workspace's test clock, as a billing job would have. */
  const ctxOf = async (w: TestWorkspace): Promise<Ctx> => {
    const clock = await h.api(w).get('/v1/test_clock');
    return { deps: h.tandem.deps, workspaceId: w.id, asOf: new Date(clock.body.frozen_time), actor: { type: 'system', id: 'test' } };
  };
  const saveCard = async (account: string, number: string, exp = { exp_month: 12, exp_year: 2030 }, w = ws) => {
    const r = await h.api(w).post('/v1/payment_methods', { account, type: 'card', card: { number, ...exp, cvc: '123' } });
    assert.equal(r.status, 200, r.raw.body);
    return r.body.id as string;
  };
  const sandboxCharges = async (prefix: string) =>
    (await h.database.query<{ n: number }>('SELECT count(*)::int AS n FROM sandbox_charges WHERE workspace_id = $1 AND key_prefix = $2', [ws.id, prefix]))[0].n;
  const charge = async (invoiceId: string, account: string, pm: string, attempt = 1, amount = 4900): Promise<PaymentAttempt> =>
    chargeCard(await ctxOf(ws), { invoiceId, accountId: account, paymentMethodId: pm, amount: usd(amount), attempt });

  it('gives each test card its documented outcome', async () => {
    const table: Array<[string, 'succeeded' | 'failed', string | null]> = [
      ['4242424242424242', 'succeeded', null],
      ['5555555555554444', 'succeeded', null],
      ['4000000000009995', 'failed', 'insufficient_funds'],
      ['4000000000000069', 'failed', 'expired_card'],
      ['4000000000000127', 'failed', 'incorrect_cvc'],
      ['4000000000000341', 'failed', 'card_declined'],
      ['4000000000000119', 'failed', 'processing_error'],
      ['6011111111111117', 'succeeded', null],
    ];
    for (const [number, status, code] of table) {
      const account = `acct_card${number.slice(-4)}`;
      const pm = await saveCard(account, number);
      const p = await charge(`inv_table${number.slice(-4)}`, account, pm);
      assert.equal(p.status, status, number);
      assert.equal(p.failureCode, code, number);
      assert.match(p.id, /^pay_/);
      assert.match(p.processorChargeId ?? '', /^ch_/, 'declines are processor charges too');
      assert.equal(p.kind, 'card');
      assert.equal(p.attempt, 1);
      assert.deepEqual(p.amount, usd(4900));
      if (status === 'failed') assert.ok(p.failureMessage);
    }
  });

  it('charges each (invoice, attempt) once: a re-run returns the same attempt', async () => {
    const pm = await saveCard('acct_idem', '4242424242424242');
    const a = await charge('inv_idem', 'acct_idem', pm, 1);
    const b = await charge('inv_idem', 'acct_idem', pm, 1);
    assert.equal(b.id, a.id);
    assert.equal(b.processorChargeId, a.processorChargeId);
    assert.equal(await sandboxCharges('inv_idem'), 1);
    assert.equal((await listPayments(h.database.db, ws.id, { invoiceId: 'inv_idem' })).length, 1);
    await assert.rejects(charge('inv_idem', 'acct_idem', pm, 1, 5000), { code: 'idempotency_key_reused' });
  });

  it('after a crash between the charge and its record, records the processor’s stored outcome without charging again', async () => {
    const pm = await saveCard('acct_crash', '4000000000000119');
    const ctx = await ctxOf(ws);
    const [{ token }] = await h.database.query<{ token: string }>('SELECT processor_token AS token FROM payment_methods WHERE id = $1', [pm]);
    // The job charged (processing_error on the first try) and died before recording the attempt.
    const lost = await getProcessor(h.tandem.deps).charge(ctx, { token, amount: usd(1200), idempotencyKey: 'inv_crash:1' });
    assert.equal(lost.status, 'failed');
    const rerun = await chargeCard(ctx, { invoiceId: 'inv_crash', accountId: 'acct_crash', paymentMethodId: pm, amount: usd(1200), attempt: 1 });
    assert.equal(rerun.status, 'failed', 'the replayed outcome, not a fresh success');
    assert.equal(rerun.failureCode, 'processing_error');
    assert.equal(rerun.processorChargeId, lost.processorChargeId);
    assert.equal(await sandboxCharges('inv_crash'), 1);
    // The transient card fails the first attempt of an invoice and succeeds on the retry.
    const retry = await chargeCard(ctx, { invoiceId: 'inv_crash', accountId: 'acct_crash', paymentMethodId: pm, amount: usd(1200), attempt: 2 });
    assert.equal(retry.status, 'succeeded');
    assert.equal(await sandboxCharges('inv_crash'), 2);
    const nextInvoice = await chargeCard(ctx, { invoiceId: 'inv_crash2', accountId: 'acct_crash', paymentMethodId: pm, amount: usd(1200), attempt: 1 });
    assert.equal(nextInvoice.failureCode, 'processing_error', 'the first attempt of every invoice fails once');
    assert.equal(paymentError(nextInvoice)?.code, 'card_processing_error');
    assert.equal(paymentError(nextInvoice)?.status, 402);
    assert.equal(paymentError(retry), null);
  });

  it('the "attach ok, charge fails" card saves fine and declines every attempt of a dunning run', async () => {
    const pm = await saveCard('acct_dun', '4000000000000341');
    for (let attempt = 1; attempt <= 4; attempt++) {
      const p = await charge('inv_dun', 'acct_dun', pm, attempt);
      assert.equal(p.status, 'failed');
      assert.equal(p.failureCode, 'card_declined');
      assert.equal(p.attempt, attempt);
      const e = paymentError(p);
      assert.equal(e?.code, 'card_declined');
      assert.equal(e?.type, 'card_error');
    }
    const listed = await h.api(ws).get('/v1/payments?invoice=inv_dun');
    assert.deepEqual(listed.body.data.map((p: any) => p.attempt), [4, 3, 2, 1]);
    assert.equal(listed.body.data[0].failure_code, 'card_declined');
    assert.equal(listed.body.data[0].status, 'failed');
    const events = await h.database.query<{ n: number }>(`SELECT count(*)::int AS n FROM events WHERE workspace_id = $1 AND type = 'payment.failed' AND data->>'invoice' = 'inv_dun'`, [ws.id]);
    assert.equal(events[0].n, 4);
  });

  it('declines a saved card once the workspace clock passes its expiry', async () => {
    const pm = await saveCard('acct_exp', '4242424242424242', { exp_month: 2, exp_year: 2026 });
    assert.equal((await charge('inv_exp', 'acct_exp', pm, 1)).status, 'succeeded');
    await h.api(ws).post('/v1/test_clock/advance', { to: '2026-02-28T23:59:00Z' });
    assert.equal((await charge('inv_exp', 'acct_exp', pm, 2)).status, 'succeeded', 'good through the end of its month');
    await h.api(ws).post('/v1/test_clock/advance', { to: '2026-03-01T00:00:00Z' });
    const p = await charge('inv_exp', 'acct_exp', pm, 3);
    assert.equal(p.failureCode, 'expired_card');
    assert.equal(p.createdAt.toISOString(), '2026-03-01T00:00:00.000Z', 'recorded on the workspace clock');
  });

  it('refuses to charge a detached card, another account’s card or another workspace’s card', async () => {
    const pm = await saveCard('acct_guard', '4242424242424242');
    await assert.rejects(charge('inv_guard', 'acct_someone_else', pm), { code: 'parameter_invalid', param: 'payment_method' });
    const foreign = await saveCard('acct_guard', '4242424242424242', undefined, other);
    await assert.rejects(charge('inv_guard', 'acct_guard', foreign), { code: 'resource_missing' });
    await h.api(ws).post(`/v1/payment_methods/${pm}/detach`);
    await assert.rejects(charge('inv_guard', 'acct_guard', pm), { code: 'state_conflict' });
    await assert.rejects(charge('inv_guard', 'acct_guard', pm, 0), { code: 'parameter_invalid', param: 'attempt' });
    await assert.rejects(charge('inv_guard', 'acct_guard', pm, 1, 0), { code: 'amount_invalid' });
    assert.equal(await sandboxCharges('inv_guard'), 0, 'no charge reached the processor');
  });

  it('records manual payments in the caller’s transaction, idempotently by key', async () => {
    const ctx = await ctxOf(ws);
    const db = h.database.db;
    const wire = await db.transaction((tx) =>
      recordManualPayment(tx, ctx, { invoiceId: 'inv_net30', accountId: 'acct_ent', amount: usd(1_250_000), method: 'wire', reference: 'WIRE-7781', idempotencyKey: 'wire-7781' }),
    );
    assert.equal(wire.status, 'succeeded');
    assert.equal(wire.kind, 'manual');
    assert.equal(wire.paymentMethodId, null);
    assert.equal(wire.attempt, null);
    const again = await db.transaction((tx) =>
      recordManualPayment(tx, ctx, { invoiceId: 'inv_net30', accountId: 'acct_ent', amount: usd(1_250_000), method: 'wire', reference: 'WIRE-7781', idempotencyKey: 'wire-7781' }),
    );
    assert.equal(again.id, wire.id);
    await assert.rejects(
      db.transaction((tx) => recordManualPayment(tx, ctx, { invoiceId: 'inv_net30', accountId: 'acct_ent', amount: usd(1), method: 'wire', idempotencyKey: 'wire-7781' })),
      { code: 'idempotency_key_reused' },
    );
    await assert.rejects(
      db.transaction((tx) => recordManualPayment(tx, ctx, { invoiceId: 'inv_net30', accountId: 'acct_ent', amount: usd(-5), method: 'check' })),
      { code: 'amount_invalid' },
    );
    // A rolled-back caller transaction leaves no payment behind.
    await assert.rejects(
      db.transaction(async (tx) => {
        await recordManualPayment(tx, ctx, { invoiceId: 'inv_net30', accountId: 'acct_ent', amount: usd(100), method: 'check', reference: 'CHK-1' });
        throw new Error('caller failed');
      }),
      /caller failed/,
    );
    const check = await db.transaction((tx) => recordManualPayment(tx, ctx, { invoiceId: 'inv_net30', accountId: 'acct_ent', amount: usd(500), method: 'check', reference: 'CHK-2' }));
    const listed = await listPayments(db, ws.id, { invoiceId: 'inv_net30' });
    assert.deepEqual(listed.map((p) => p.id), [check.id, wire.id]);
    const got = await h.api(ws).get(`/v1/payments/${wire.id}`);
    assert.equal(got.status, 200);
    assert.equal(got.body.amount, 1_250_000);
    assert.equal(got.body.currency, 'usd');
    assert.equal(got.body.method, 'wire');
    assert.equal(got.body.reference, 'WIRE-7781');
    const audit = await h.api(ws).get(`/v1/audit_log?entity_id=${wire.id}`);
    assert.equal(audit.body.data[0].action, 'payment.recorded');
    assert.equal((await h.api(other).get(`/v1/payments/${wire.id}`)).status, 404);
    assert.equal((await h.api(other).get('/v1/payments?account=acct_ent')).body.data.length, 0);
    const byAccount = await h.api(ws).get('/v1/payments?account=acct_ent&limit=1');
    assert.equal(byAccount.body.data[0].id, check.id);
    assert.equal(byAccount.body.has_more, true);
  });
});
