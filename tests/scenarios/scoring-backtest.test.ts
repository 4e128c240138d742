import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_MODEL } from '../../src/modules/scoring/index.ts';
import { scenario, type Customer, type Scenario } from './dsl.ts';

/**
 * Backtests on generated data where the truth is known. 20 "hot" accounts (800-person software
 * companies, 10 daily users, pricing views and upgrade clicks in the week before the cutoff) and
 * 20 "cold" ones (5,000-person software companies with one user who signed in twice). After the
 * cutoff (2026-01-12) 16 hot and 2 cold accounts start paying.
 *
 * By hand, with the default model at the cutoff:
 *   hot:  usage DAU 70 ÷ 7 = 10 → 24, 8 features → 30, trend 99 new events → 20, 10 invites → 20 = 94;
 *         fit 800 → 36 + Software 30 = 66; behavior 6 pricing views → 30 + 5 upgrade clicks → 40 = 70
 *         → (40 × 94 + 35 × 66 + 25 × 70) / 100 = 78.2
 *   cold: usage 0 (2 pairs ÷ 7 = 0.3 DAU; 2 events is no trend); fit 5,000 → 40 + 30 = 70 → 24.5
 * Observations 40, positives 18 (base rate 0.45). At 70: 20 predicted, 16 right → precision 0.8,
 * recall 16/18 = 0.8889. AUC: of 18 × 22 (positive, negative) pairs, hot-positive beats cold-negative
 * 16 × 18 = 288, ties within hot 16 × 4 × ½ = 32, ties within cold 2 × 18 × ½ = 18 → 338 / 396 = 0.8535.
 * Top decile (4 hot accounts, all converted) → lift 1 ÷ 0.45 = 2.2222.
 * A fit-only challenger ranks cold (70) above hot (66): 32 + 18 + 2 × 4 = 58 → AUC 58 / 396 = 0.1465.
 */
describe('backtests against real conversions', () => {
  let s: Scenario;
  const hot: Customer[] = [];
  const cold: Customer[] = [];
  let challenger: string;
  let active: string;

  const customer = async (name: string, employees: number): Promise<Customer> => {
    const externalId = name.toLowerCase();
    const acct = await s.ok(s.api.post('/v1/accounts', { name, external_id: externalId, employees, industry: 'Software' }));
    const pm = await s.ok(s.api.post('/v1/payment_methods', { account: acct.id, type: 'card', card: { number: '4242424242424242', exp_month: 12, exp_year: 2040, cvc: '123' } }));
    return { id: acct.id, externalId, paymentMethod: pm.id };
  };
  const send = async (messages: Record<string, unknown>[]) => {
    for (let i = 0; i < messages.length; i += 400) {
      const r = await s.api.post('/v1/batch', { batch: messages.slice(i, i + 400) });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
  };
  let n = 0;
  const track = (c: Customer, userId: string, event: string, at: string, properties: Record<string, unknown> = {}) => ({
    type: 'track',
    messageId: `bt-${n++}`,
    userId,
    event,
    timestamp: at,
    properties,
    context: { groupId: c.externalId },
  });
  const backtest = async (body: Record<string, unknown>) => {
    const created = await s.ok(s.api.post('/v1/scoring/backtests', body));
    assert.equal(created.status, 'pending');
    await s.h.tandem.runner.drain();
    const done = await s.ok(s.api.get(`/v1/scoring/backtests/${created.id}`));
    assert.equal(done.status, 'succeeded', done.error);
    return done.report;
  };

  before(async () => {
    s = await scenario('2026-01-01T00:00:00Z');
    await s.plan({ key: 'pro', prices: [{ type: 'flat', interval: 'month', unit_amount: 9900 }] });
    await s.plan({ key: 'business', prices: [{ type: 'flat', interval: 'month', unit_amount: 49900 }] });
    for (let i = 0; i < 20; i++) hot.push(await customer(`Hot${String(i).padStart(2, '0')}`, 800));
    for (let i = 0; i < 20; i++) cold.push(await customer(`Cold${String(i).padStart(2, '0')}`, 5000));
    await s.advance('2026-01-11T18:00:00Z');
    const day = (d: number) => `2026-01-${String(d).padStart(2, '0')}T12:00:00.000Z`;
    const events: Record<string, unknown>[] = [];
    for (const c of hot) {
      for (let u = 0; u < 10; u++) for (let d = 5; d <= 11; d++) events.push(track(c, `${c.externalId}-u${u}`, 'Signed In', day(d)));
      for (let f = 0; f < 8; f++) events.push(track(c, `${c.externalId}-u0`, 'Feature Used', day(10), { feature: `f${f}` }));
      for (let k = 0; k < 10; k++) events.push(track(c, `${c.externalId}-u1`, 'Invite Sent', day(9)));
      for (let k = 0; k < 6; k++) events.push(track(c, `${c.externalId}-u2`, 'Pricing Page Viewed', day(11)));
      for (let k = 0; k < 5; k++) events.push(track(c, `${c.externalId}-u2`, 'Upgrade Clicked', day(11)));
    }
    for (const c of cold) for (const d of [7, 8]) events.push(track(c, `${c.externalId}-u0`, 'Signed In', day(d)));
    await send(events);
    challenger = (await s.ok(s.api.post('/v1/scoring/models', { name: 'Fit only', config: { ...DEFAULT_MODEL, weights: { usage: 0, fit: 100, behavior: 0 } } }))).id;
    active = (await s.ok(s.api.get('/v1/scoring/models'))).data.find((m: any) => m.status === 'active').id;
    await s.advance('2026-01-14T09:00:00Z');
    for (const c of [...hot.slice(0, 16), ...cold.slice(0, 2)]) await s.subscribe(c, 'pro');
    await s.advance('2026-01-20T09:00:00Z');
    const subs = await s.ok(s.api.get(`/v1/subscriptions?account=${cold[0].id}`));
    await s.change(subs.data[0].id, { plan: 'business' });
    await s.advance('2026-02-15T00:00:00Z');
  });
  after(() => s.close());

  const cutoff = '2026-01-12T00:00:00Z';

  it('finds the lift: precision, recall, AUC, deciles and calibration as computed by hand', async () => {
    const report = await backtest({ from: cutoff, to: cutoff, horizon_days: 30, outcomes: ['became_paying'], models: [active, challenger] });
    assert.equal(report.cutoffs, 1);
    assert.deepEqual(report.outcomes_found, { became_paying: 18 });
    const [m, c] = report.models;
    assert.equal(m.model.id, active);
    assert.deepEqual([m.observations, m.positives, m.base_rate, m.auc, m.top_decile_lift], [40, 18, 0.45, 0.8535, 2.2222]);
    assert.deepEqual(m.thresholds, [
      { threshold: 70, predicted_positive: 20, true_positive: 16, precision: 0.8, recall: 0.8889 },
      { threshold: 90, predicted_positive: 0, true_positive: 0, precision: null, recall: 0 },
    ]);
    assert.deepEqual(m.lift_by_decile.map((d: any) => d.lift), [2.2222, 2.2222, 2.2222, 2.2222, 0, 1.1111, 0, 0, 0, 0]);
    assert.deepEqual(m.lift_by_decile.map((d: any) => d.max_score), [78.2, 78.2, 78.2, 78.2, 78.2, 24.5, 24.5, 24.5, 24.5, 24.5]);
    const bucket = (score: number) => m.calibration.find((b: any) => b.from <= score && score < b.to);
    assert.deepEqual([bucket(78.2).count, bucket(78.2).conversion_rate, bucket(24.5).count, bucket(24.5).conversion_rate], [20, 0.8, 20, 0.1]);
    // side by side: the fit-only version ranks the wrong accounts first
    assert.equal(c.auc, 0.1465);
    assert.deepEqual([report.comparison.baseline, report.comparison.challenger, report.comparison.auc_delta], [active, challenger, -0.707]);
  });

  it('labels upgrades too: a move to a plan that costs more per month', async () => {
    const report = await backtest({ from: cutoff, to: cutoff, horizon_days: 30, outcomes: ['became_paying', 'upgraded'] });
    assert.deepEqual(report.outcomes_found, { became_paying: 18, upgraded: 1 });
    assert.equal(report.models.length, 1, 'default: the active version');
    assert.equal(report.models[0].positives, 18, 'cold #0 both became paying and upgraded: one positive observation');
    assert.ok(report.notes.some((x: string) => x.includes('opportunity')));
  });

  it('has no leakage: events after the cutoff change nothing at the cutoff (and do change a later one)', async () => {
    const body = { from: cutoff, to: cutoff, horizon_days: 30, outcomes: ['became_paying'], include_observations: true };
    const first = await backtest(body);
    const late: Record<string, unknown>[] = [];
    for (const c of cold) {
      for (let k = 0; k < 20; k++) late.push(track(c, `${c.externalId}-u0`, 'Pricing Page Viewed', '2026-01-12T06:00:00.000Z'));
      for (let k = 0; k < 5; k++) late.push(track(c, `${c.externalId}-u0`, 'Upgrade Clicked', '2026-01-12T06:00:00.000Z'));
    }
    await send(late);
    const second = await backtest(body);
    assert.deepEqual(second.models[0].observations_list, first.models[0].observations_list);
    assert.deepEqual({ ...second.models[0], model: null }, { ...first.models[0], model: null });
    const coldScores = first.models[0].observations_list.filter((o: any) => cold.some((c) => c.id === o.account)).map((o: any) => o.score);
    assert.deepEqual([...new Set(coldScores)], [24.5]);
    // Control: a cutoff after those events sees them: pricing 20 → 30, upgrade clicks 5 → 40, and 27 events in
    // 14 days with none before → trend 20: (40 × 20 + 35 × 70 + 25 × 70) / 100 = 50.
    const later = await backtest({ ...body, from: '2026-01-13T00:00:00Z', to: '2026-01-13T00:00:00Z' });
    const coldLater = later.models[0].observations_list.filter((o: any) => cold.slice(2).some((c) => c.id === o.account)).map((o: any) => o.score);
    assert.deepEqual([...new Set(coldLater)], [50]);
  });

  it('refuses a range whose outcomes are not known yet, and unknown models', async () => {
    const r = await s.api.post('/v1/scoring/backtests', { from: '2026-02-01T00:00:00Z', to: '2026-02-10T00:00:00Z', horizon_days: 30 });
    assert.equal(r.status, 400);
    assert.equal(r.body.error.param, 'to');
    const m = await s.api.post('/v1/scoring/backtests', { from: cutoff, to: cutoff, models: ['smod_nope'] });
    assert.equal(m.status, 404);
    assert.equal((await s.api.get('/v1/scoring/backtests/sbt_nope')).status, 404);
  });
});
