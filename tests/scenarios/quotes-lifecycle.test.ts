import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { scenario, type Scenario } from './dsl.ts';

/** The quote state machine on the test clock: approval, expiry, declines, edits, refused moves. */
describe('quote lifecycle', () => {
  let s: Scenario;
  let acct: { id: string };
  before(async () => {
    s = await scenario('2026-05-01T00:00:00Z');
    await s.plan({ key: 'business', name: 'Business', motion: 'sales_assisted', prices: [{ type: 'per_seat', unit_amount: 5_000 }, { type: 'per_seat', interval: 'year', unit_amount: 50_000 }] });
    acct = await s.customer('Globex', { card: null });
  });
  after(() => s.close());

  const create = (body: Record<string, unknown> = {}) => s.ok(s.api.post('/v1/quotes', { account: acct.id, plan: 'business', interval: 'year', quantity: 10, ...body }));
  const post = (id: string, action: string, body: unknown = {}) => s.api.post(`/v1/quotes/${id}/${action}`, body);

  it('expires at expires_at by a job on the workspace clock; an expired quote cannot be accepted', async () => {
    let q = await create({ expires_at: '2026-05-15T00:00:00Z' });
    q = await s.ok(post(q.id, 'submit'));
    q = await s.ok(post(q.id, 'send'));
    const token = new URL(q.url).pathname;
    await s.advance('2026-05-14T23:59:59Z');
    assert.equal((await s.ok(s.api.get(`/v1/quotes/${q.id}`))).status, 'sent');
    await s.advance('2026-05-15T00:00:00Z');
    q = await s.ok(s.api.get(`/v1/quotes/${q.id}`));
    assert.equal(q.status, 'expired');
    assert.equal(q.expired_at, '2026-05-15T00:00:00.000Z');
    const ev = await s.events('quote.expired');
    assert.equal(ev.length, 1);
    assert.equal(ev[0].data.quote.id, q.id);
    const accept = await post(q.id, 'accept', { name: 'Late Larry', title: 'CEO' });
    assert.equal(accept.status, 409);
    assert.equal(accept.body.error.code, 'state_conflict');
    const page = await s.h.tandem.app.inject({ method: 'GET', url: token });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /This quote has expired/);
    assert.doesNotMatch(page.body, /Accept and sign/);
  });

  it('needs approval above the discount limit; only the approver role may approve, and who approved is recorded', async () => {
    let q = await create({ discount: { type: 'percent', percent: '25' } });
    q = await s.ok(post(q.id, 'submit'));
    assert.equal(q.status, 'pending_approval');
    assert.deepEqual(q.approval.reasons.map((r: any) => r.code), ['discount_above_limit']);
    const early = await post(q.id, 'send');
    assert.equal(early.status, 409, 'a pending quote cannot be sent');
    assert.equal(early.body.error.code, 'state_conflict');
    const rep = await post(q.id, 'approve', { role: 'account_executive' });
    assert.equal(rep.status, 403);
    assert.equal(rep.body.error.code, 'approval_role_required');
    const keys = await s.ok(s.api.get('/v1/api_keys'));
    q = await s.ok(post(q.id, 'approve', { role: 'sales_manager', name: 'Maria Manager', note: 'Strategic logo' }));
    assert.equal(q.status, 'approved');
    assert.equal(q.approval.approved_by.role, 'sales_manager');
    assert.equal(q.approval.approved_by.name, 'Maria Manager');
    assert.equal(q.approval.approved_by.actor_type, 'api_key');
    assert.ok(keys.data.some((k: any) => k.id === q.approval.approved_by.actor_id), 'the approving key is recorded');
    assert.equal((await s.events('quote.approved')).filter((e) => e.data.quote.id === q.id).length, 1);
    q = await s.ok(post(q.id, 'send'));
    assert.equal(q.status, 'sent');
    const again = await post(q.id, 'approve', { role: 'sales_manager' });
    assert.equal(again.status, 409);
  });

  it('needs approval above the contract-value threshold; the rules are configurable', async () => {
    const rules = await s.ok(s.api.post('/v1/quotes/approval_rules', { total_contract_value_threshold: { amount: 400_000, currency: 'usd' }, approver_role: 'vp_sales' }));
    assert.equal(rules.approver_role, 'vp_sales');
    let q = await create(); // 10 × 50,000 = 500,000 > 400,000
    q = await s.ok(post(q.id, 'submit'));
    assert.equal(q.status, 'pending_approval');
    assert.deepEqual(q.approval.reasons.map((r: any) => r.code), ['contract_value_above_threshold']);
    assert.equal((await post(q.id, 'approve', { role: 'sales_manager' })).status, 403);
    assert.equal((await s.ok(post(q.id, 'approve', { role: 'vp_sales' }))).status, 'approved');
    await s.ok(s.api.post('/v1/quotes/approval_rules', { total_contract_value_threshold: { amount: 10_000_000, currency: 'usd' }, approver_role: 'sales_manager' }));
  });

  it('validates every transition and sends edited quotes back to draft', async () => {
    let q = await create();
    for (const action of ['send', 'approve', 'accept', 'decline']) {
      const r = await post(q.id, action, action === 'approve' ? { role: 'sales_manager' } : action === 'accept' ? { name: 'Ann', title: 'CTO' } : {});
      assert.equal(r.status, 409, `${action} from draft`);
      assert.equal(r.body.error.code, 'state_conflict');
    }
    q = await s.ok(post(q.id, 'submit'));
    assert.equal(q.status, 'approved');
    q = await s.ok(s.api.post(`/v1/quotes/${q.id}`, { quantity: 12, free_months: 1 }));
    assert.equal(q.status, 'draft', 'edited → back to draft');
    assert.equal(q.quantity, 12);
    q = await s.ok(post(q.id, 'submit'));
    q = await s.ok(post(q.id, 'send'));
    assert.equal((await s.api.post(`/v1/quotes/${q.id}`, { quantity: 3 })).status, 409, 'a sent quote is not edited');
    q = await s.ok(post(q.id, 'decline', { reason: 'Budget moved to next year' }));
    assert.equal(q.status, 'declined');
    assert.equal(q.decline_reason, 'Budget moved to next year');
    assert.equal((await post(q.id, 'accept', { name: 'Ann', title: 'CTO' })).status, 409);
    const del = await s.api.delete(`/v1/quotes/${q.id}`);
    assert.equal(del.status, 409, 'only drafts are deleted');
    const draft = await create();
    assert.equal((await s.api.delete(`/v1/quotes/${draft.id}`)).status, 200);
    assert.equal((await s.api.get(`/v1/quotes/${draft.id}`)).status, 404);
  });

  it('refuses bad terms with 400s that name the field', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ interval: 'year', term_months: 18 }, 'term_months'],
      [{ free_months: 12 }, 'free_months'],
      [{ plan: 'nope' }, 'plan'],
      [{ discount: { type: 'percent', percent: '120' } }, 'discount.percent'],
      [{ start_date: '2020-01-01T00:00:00Z' }, 'start_date'],
      [{ payment_terms: { method: 'invoice', net_days: 0 } }, 'payment_terms.net_days'],
    ];
    for (const [body, param] of cases) {
      const r = await s.api.post('/v1/quotes', { account: acct.id, plan: 'business', interval: 'year', quantity: 10, ...body });
      assert.ok(r.status === 400 || r.status === 404, `${JSON.stringify(body)} → ${r.status}`);
      assert.equal(r.body.error.param, param, JSON.stringify(r.body));
    }
  });

  it('shows the share page only once sent, and never for a wrong token', async () => {
    let q = await create();
    q = await s.ok(post(q.id, 'submit'));
    assert.equal(q.url, null, 'no link before it is sent');
    q = await s.ok(post(q.id, 'send'));
    const path = new URL(q.url).pathname;
    const ok = await s.h.tandem.app.inject({ method: 'GET', url: path });
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.headers['referrer-policy'], 'no-referrer');
    assert.match(String(ok.headers['content-security-policy']), /script-src 'nonce-/);
    const tampered = path.slice(0, -3) + (path.endsWith('AAA') ? 'BBB' : 'AAA');
    assert.equal((await s.h.tandem.app.inject({ method: 'GET', url: tampered })).statusCode, 404);
    assert.equal((await s.h.tandem.app.inject({ method: 'GET', url: `/quotes/view/${q.id}` })).statusCode, 404);
    assert.equal((await s.h.api(null).post(`${tampered}/accept`, { name: 'Eve', title: 'Attacker' })).status, 404);
    const pdf = await s.h.tandem.app.inject({ method: 'GET', url: `${path}/pdf` });
    assert.equal(pdf.statusCode, 200);
    assert.equal(pdf.headers['content-type'], 'application/pdf');
  });

  it('for a running subscription the contract starts at its renewal: another start date is refused when sending', async () => {
    const c = await s.customer('Renewing');
    await s.subscribe(c, 'business', { quantity: 2 });
    let q = await s.ok(s.api.post('/v1/quotes', { account: c.id, plan: 'business', interval: 'year', quantity: 10, start_date: '2026-12-01T00:00:00Z' }));
    assert.equal(q.preview.contract.type, 'amendment');
    assert.equal(q.preview.contract.start_mismatch, true);
    q = await s.ok(post(q.id, 'submit'));
    const refused = await post(q.id, 'send');
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error.code, 'quote_start_mismatch');
    q = await s.ok(s.api.post(`/v1/quotes/${q.id}`, { start_date: null }));
    q = await s.ok(post(q.id, 'submit'));
    assert.equal((await s.ok(post(q.id, 'send'))).status, 'sent');
  });

  it('asks for a card to accept card terms when the account has none, and a declined card accepts nothing', async () => {
    let q = await create({ payment_terms: { method: 'card' } });
    q = await s.ok(post(q.id, 'submit'));
    q = await s.ok(post(q.id, 'send'));
    const path = new URL(q.url).pathname;
    assert.match((await s.h.tandem.app.inject({ method: 'GET', url: path })).body, /card-number/);
    const noCard = await s.h.api(null).post(`${path}/accept`, { name: 'Ann Accept', title: 'CFO' });
    assert.equal(noCard.status, 400);
    assert.equal(noCard.body.error.param, 'card');
    const declined = await s.h.api(null).post(`${path}/accept`, { name: 'Ann Accept', title: 'CFO', card: { number: '4000000000000002', exp: '12/30', cvc: '123' } });
    assert.equal(declined.status, 402);
    assert.equal((await s.ok(s.api.get(`/v1/quotes/${q.id}`))).status, 'sent', 'nothing was accepted');
    const ok = await s.h.api(null).post(`${path}/accept`, { name: 'Ann Accept', title: 'CFO', card: { number: '4242424242424242', exp: '12/30', cvc: '123' } });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    await s.settle();
    q = await s.ok(s.api.get(`/v1/quotes/${q.id}`));
    assert.equal(q.status, 'converted');
    const [inv] = await s.invoices(q.conversion.subscription);
    assert.equal(inv.status, 'paid', 'charged to the new card');
    assert.equal(inv.total, q.preview.first_invoice.total);
  });
});
