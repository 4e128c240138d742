import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { aggregateSpecs, DEFAULT_MODEL, measure, measureBulk, ModelConfigSchema } from '../../src/modules/scoring/index.ts';
import { execOn } from '../../src/modules/events/index.ts';
import { startHarness, type Harness, type TestWorkspace } from '../support/harness.ts';

const basic = (key: string) => ({ authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}` });
const T = new Date('2026-04-10T12:00:00Z');
const at = (days: number) => new Date(T.getTime() - days * 86_400_000 - 3600_000).toISOString();

const ev = (over: Record<string, unknown>) => ({ kind: 'events', events: [], page_paths: [], page_names: [], filters: [], window_days: 7, aggregation: 'count', ...over });
const sig = (key: string, source: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  key,
  label: key,
  category: 'usage',
  source,
  points: { type: 'bands', bands: [{ min: 1, points: 1 }] },
  max_points: 100,
  explain: '{value}',
  ...extra,
});

/** Every aggregation, filter operator and points function measured from real events through SQL. */
const model = {
  ...DEFAULT_MODEL,
  weights: { usage: 100, fit: 0, behavior: 0 },
  signals: [
    sig('users_week', ev({ aggregation: 'distinct_users' })),
    sig('active_days', ev({ aggregation: 'distinct_days' })),
    sig('dau', ev({ aggregation: 'daily_active_users' })),
    sig('event_kinds', ev({ aggregation: 'distinct_events' })),
    sig('regions', ev({ aggregation: 'distinct_property', property: 'region', window_days: 30 })),
    sig('exports_csv', ev({ events: ['Report Exported'], filters: [{ property: 'format', operator: 'eq', values: ['csv'] }] })),
    sig('exports_not_pdf', ev({ events: ['Report Exported'], filters: [{ property: 'format', operator: 'not_in', values: ['pdf'] }] })),
    sig('exports_pdf_or_xls', ev({ events: ['Report Exported'], filters: [{ property: 'format', operator: 'in', values: ['pdf', 'xls'] }] })),
    sig('exports_other', ev({ events: ['Report Exported'], filters: [{ property: 'format', operator: 'neq', values: ['csv'] }] })),
    sig('upgrades_with_plan', ev({ events: ['Upgrade Clicked'], filters: [{ property: 'plan', operator: 'exists' }] })),
    sig('upgrades_without_plan', ev({ events: ['Upgrade Clicked'], filters: [{ property: 'plan', operator: 'not_exists' }] })),
    sig('docs', ev({ page_names: ['Docs'] })),
    sig('pricing_paths', ev({ page_paths: ['/pricing/'] })),
    sig('seats', { kind: 'firmographic', field: 'employees' }, { category: 'fit', points: { type: 'linear', per_unit: 0.5, offset: 10 }, max_points: 20 }),
    sig('upgraders', ev({ events: ['Upgrade Clicked'], aggregation: 'distinct_users' }), { half_life_days: 1 }),
    sig('churn', ev({ events: ['Cancel Clicked'], window_days: 14 }), { points: { type: 'bands', bands: [{ min: 1, points: -10 }] }, max_points: 0, min_points: -10 }),
  ],
  disqualifiers: [{ key: 'deleted', label: 'Account deleted', source: ev({ events: ['Account Deleted'], window_days: 30 }), when: { gte: 1 } }],
};

describe('every signal kind, measured from events', () => {
  let h: Harness;
  let ws: TestWorkspace;
  let acct: any;
  const send = async (batch: Record<string, unknown>[]) => {
    const r = await h.api(null).post('/v1/batch', { batch: batch.map((m, i) => ({ messageId: `sig-${Math.random()}-${i}`, context: { groupId: 'grp-sig' }, ...m })) }, basic(ws.writeKey));
    assert.equal(r.status, 200, JSON.stringify(r.body));
  };
  const score = async () => (await h.api(ws).get(`/v1/accounts/${acct.id}/score`)).body;
  const raw = (s: any) => Object.fromEntries(s.signals.map((x: any) => [x.key, x.raw]));

  before(async () => {
    h = await startHarness();
    ws = await h.workspace({ clockStart: T.toISOString() });
    acct = (await h.api(ws).post('/v1/accounts', { name: 'Signals', external_id: 'grp-sig', employees: 30 })).body;
    const created = await h.api(ws).post('/v1/scoring/models', { name: 'All signals', config: model, activate: true });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const track = (userId: string, event: string, days: number, properties: Record<string, unknown> = {}) => ({ type: 'track', userId, event, properties, timestamp: at(days) });
    const page = (userId: string, name: string, path: string, days: number) => ({ type: 'page', userId, name, properties: { path }, timestamp: at(days) });
    await send([
      track('u1', 'Signed In', 0, { region: 'eu' }),
      track('u1', 'Signed In', 1, { region: 'eu' }),
      track('u1', 'Signed In', 2, { region: 'eu' }),
      track('u2', 'Signed In', 0, { region: 'us' }),
      track('u3', 'Signed In', 8, { region: 'apac' }),
      track('u1', 'Report Exported', 0, { format: 'csv' }),
      track('u1', 'Report Exported', 0, { format: 'csv' }),
      track('u1', 'Report Exported', 0, { format: 'pdf' }),
      track('u1', 'Report Exported', 0),
      track('u2', 'Upgrade Clicked', 1, { plan: 'pro' }),
      track('u2', 'Upgrade Clicked', 1),
      track('u2', 'Upgrade Clicked', 1, { source: 'banner' }),
      page('u1', 'Docs', '/docs', 1),
      page('u1', 'Docs', '/docs/api', 1),
      page('u2', 'Pricing', '/pricing', 0),
      page('u2', 'Pricing', '/pricing/', 0),
      track('u1', 'Cancel Clicked', 3),
    ]);
    await h.api(ws).post('/v1/test_clock/advance', { by: 'PT1S' });
  });
  after(() => h.close());

  it('measures each aggregation and filter as defined', async () => {
    const s = await score();
    assert.deepEqual(raw(s), {
      users_week: 2, // u1, u2 (u3 signed in 8 days ago)
      active_days: 4, // days 0, 1, 2, 3
      dau: 0.9, // (u1 × 4 days + u2 × 2 days) ÷ 7 = 0.857
      event_kinds: 6, // Signed In, Report Exported, Upgrade Clicked, Docs, Pricing, Cancel Clicked
      regions: 3, // eu, us, apac (30 days)
      exports_csv: 2,
      exports_not_pdf: 3, // csv, csv, and the one without a format
      exports_pdf_or_xls: 1,
      exports_other: 2, // neq: pdf and the one without a format
      upgrades_with_plan: 1,
      upgrades_without_plan: 2,
      docs: 2,
      pricing_paths: 2, // '/pricing' and '/pricing/' (trailing slash ignored)
      seats: 30,
      upgraders: 1,
      churn: 1,
    });
    const pts = Object.fromEntries(s.signals.map((x: any) => [x.key, x.points]));
    assert.equal(pts.seats, 10, 'linear: (30 − 10) × 0.5');
    assert.equal(pts.churn, -10, 'negative points');
    const upgraders = s.signals.find((x: any) => x.key === 'upgraders');
    assert.deepEqual([upgraders.base_points, upgraders.points, upgraders.days_since_last], [1, 0.5, 1], 'a distinct signal decays too');
    assert.equal(s.sub_scores.usage, 12 + 0.5 - 10, '12 usage signals at 1 point (dau 0.9 is below its band), upgraders 0.5, churn −10');
    assert.equal(s.score, 2.5);
    assert.deepEqual(s.explanation.held_back_by, ['1 (−10 usage)']);
  });

  it('the incremental query and the bulk hash aggregations measure the same', async () => {
    const input = { workspaceId: ws.id, asOf: new Date(T.getTime() + 1000), specs: aggregateSpecs(ModelConfigSchema.parse(model)) };
    const few = await measure(execOn(h.database), { ...input, accountIds: [acct.id] });
    const all = await measureBulk(h.database.db, input);
    assert.ok(Object.keys(few.get(acct.id)!).length >= 15);
    assert.deepEqual(all.get(acct.id), few.get(acct.id));
  });

  it('a disqualifier zeroes the score and says why', async () => {
    await send([{ type: 'track', userId: 'u1', event: 'Account Deleted', timestamp: at(0) }]);
    await h.api(ws).post('/v1/test_clock/advance', { by: 'PT1S' });
    const s = await score();
    assert.deepEqual([s.score, s.level, s.disqualified_by, s.sub_scores.usage], [0, 'none', 'deleted', 2.5]);
    assert.match(s.explanation.summary, /^Disqualified: Account deleted\./);
  });
});
