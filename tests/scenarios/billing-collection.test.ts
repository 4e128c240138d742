import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { expectTotals, scenario, type Scenario } from './dsl.ts';

describe('collection: cards, dunning, Net terms', () => {
  let s: Scenario;
  before(async () => {
    s = await scenario('2026-01-31T09:00:00Z');
    await s.plan({ key: 'pro', prices: [{ type: 'flat', unit_amount: 19900 }] });
  });
  after(() => s.close());

  it('a declined card: retries on days 1, 3 and 5 after the first failure, past_due, then canceled', async () => {
    const c = await s.customer('Decliner', { card: '4000000000000341' }); // saves fine, every charge declines
    const sub = await s.subscribe(c, 'pro');
    let inv = (await s.invoices(sub.id))[0];
    assert.equal(inv.status, 'open');
    assert.equal(inv.attempt_count, 1);
    assert.equal(inv.next_payment_attempt, '2026-02-01T09:00:00.000Z');
    assert.equal((await s.subscription(sub.id)).status, 'past_due');
    await s.advance('2026-02-03T09:00:00Z');
    inv = (await s.invoices(sub.id))[0];
    assert.equal(inv.attempt_count, 3);
    assert.equal(inv.next_payment_attempt, '2026-02-05T09:00:00.000Z');
    await s.advance('2026-02-05T09:00:00Z');
    inv = (await s.invoices(sub.id))[0];
    assert.equal(inv.attempt_count, 4);
    assert.equal(inv.status, 'uncollectible');
    const ended = await s.subscription(sub.id);
    assert.equal(ended.status, 'canceled');
    const failures = (await s.events('invoice.payment_failed')).filter((e) => e.data.invoice.id === inv.id);
    assert.deepEqual(
      failures.map((f) => new Date(f.occurred_at).toISOString()),
      ['2026-01-31T09:00:00.000Z', '2026-02-01T09:00:00.000Z', '2026-02-03T09:00:00.000Z', '2026-02-05T09:00:00.000Z'],
    );
    await s.advance('2026-03-10T00:00:00Z');
    assert.equal((await s.invoices(sub.id)).length, 1, 'a canceled subscription is not renewed');
  });

  it('recovers from past_due when a retry succeeds after the card is replaced', async () => {
    const c = await s.customer('Recoverer', { card: '4000000000000341' });
    const sub = await s.subscribe(c, 'pro', { dunning_final_action: 'mark_unpaid' });
    assert.equal((await s.subscription(sub.id)).status, 'past_due');
    const good = await s.ok(s.api.post('/v1/payment_methods', { account: c.id, type: 'card', card: { number: '4242424242424242', exp_month: 1, exp_year: 2035, cvc: '123' } }));
    await s.change(sub.id, { payment_method: good.id });
    const now = await s.now();
    await s.advance(new Date(new Date(now).getTime() + 86_400_000).toISOString());
    const inv = (await s.invoices(sub.id))[0];
    assert.equal(inv.status, 'paid');
    assert.equal(inv.attempt_count, 2);
    assert.equal((await s.subscription(sub.id)).status, 'active');
    const succeeded = await s.events('payment.succeeded');
    assert.ok(succeeded.some((e) => e.data.invoice === inv.id));
  });

  it('mark_unpaid: when retries run out the subscription is unpaid and keeps renewing', async () => {
    const c = await s.customer('Unpaid', { card: '4000000000009995' }); // insufficient funds on every charge
    const sub = await s.subscribe(c, 'pro', { dunning_final_action: 'mark_unpaid' });
    await s.advance('P6D');
    assert.equal((await s.subscription(sub.id)).status, 'unpaid');
    assert.equal((await s.invoices(sub.id))[0].status, 'open');
  });

  it('Net 30: an invoice is due 30 days after finalization, becomes overdue, and is paid by bank transfer', async () => {
    const c = await s.customer('NetCo', { card: null });
    const sub = await s.subscribe(c, 'pro', { collection_method: 'send_invoice', days_until_due: 30 });
    let inv = (await s.invoices(sub.id))[0];
    assert.equal(inv.collection_method, 'send_invoice');
    const finalized = new Date(inv.finalized_at);
    assert.equal(inv.due_date, new Date(finalized.getTime() + 30 * 86_400_000).toISOString());
    assert.equal(inv.overdue, false);
    await s.advance(inv.due_date);
    inv = (await s.ok(s.api.get(`/v1/invoices/${inv.id}`)));
    assert.equal(inv.overdue, true);
    assert.equal((await s.subscription(sub.id)).status, 'past_due');
    const overdue = await s.events('invoice.overdue');
    assert.ok(overdue.some((e) => e.data.invoice.id === inv.id));
    // A partial wire, then the rest by bank transfer.
    const part = await s.ok(s.api.post(`/v1/invoices/${inv.id}/pay`, { method: 'wire', amount: 9900, reference: 'WIRE-1' }));
    assert.equal(part.status, 'open');
    assert.equal(part.amount_remaining, 10000);
    const paid = await s.ok(s.api.post(`/v1/invoices/${inv.id}/pay`, { method: 'bank_transfer', reference: 'SEPA-2' }));
    assert.equal(paid.status, 'paid');
    assert.equal(paid.amount_paid, 19900);
    assert.equal((await s.subscription(sub.id)).status, 'active');
    const over = await s.api.post(`/v1/invoices/${inv.id}/pay`, { method: 'wire', amount: 1 });
    assert.equal(over.status, 409);
  });

  it('switches from card to invoice on Net 30 at renewal, leaving the running period on the card', async () => {
    const c = await s.customer('Switcher');
    const sub = await s.subscribe(c, 'pro');
    await s.change(sub.id, { collection_method: 'send_invoice', days_until_due: 30, effective: 'period_end' });
    assert.equal((await s.subscription(sub.id)).collection_method, 'charge_automatically');
    await s.advance(sub.current_period_end);
    const inv = await s.invoices(sub.id);
    assert.deepEqual(
      inv.map((i) => [i.collection_method, i.status]),
      [
        ['charge_automatically', 'paid'],
        ['send_invoice', 'open'],
      ],
    );
    assert.equal((await s.subscription(sub.id)).collection_method, 'send_invoice');
    assert.ok((await s.events('subscription.payment_method_changed')).some((e) => e.data.subscription.id === sub.id));
  });

  it('cancels at period end: no renewal invoice, ended at the period end', async () => {
    const c = await s.customer('Leaver');
    const sub = await s.subscribe(c, 'pro');
    const flagged = await s.cancel(sub.id, { at_period_end: true });
    assert.equal(flagged.cancel_at_period_end, true);
    assert.equal(flagged.status, 'active');
    await s.advance(sub.current_period_end);
    const ended = await s.subscription(sub.id);
    assert.equal(ended.status, 'canceled');
    assert.equal(ended.ended_at, sub.current_period_end);
    expectTotals(await s.invoices(sub.id), [19900]);
    assert.ok((await s.events('subscription.canceled')).some((e) => e.data.subscription.id === sub.id));
  });

  it('cancels now with a prorated credit to the balance', async () => {
    const c = await s.customer('Quitter');
    const sub = await s.subscribe(c, 'pro');
    const ended = await s.cancel(sub.id, { at_period_end: false, prorate: true });
    assert.equal(ended.status, 'canceled');
    const notes = await s.ok(s.api.get(`/v1/credit_notes?account=${c.id}`));
    assert.equal(notes.data.length, 1);
    assert.equal(notes.data[0].amount, 19900, 'cancelled at the very start: the whole period is unused');
    const again = await s.api.post(`/v1/subscriptions/${sub.id}/cancel`, { at_period_end: false });
    assert.equal(again.status, 409);
  });
});
