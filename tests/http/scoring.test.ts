import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_MODEL } from '../../src/modules/scoring/index.ts';
import { enterpriseEvaluator, fastGrowingMidMarket, lowFitSmb, type Plan } from '../../src/modules/scoring/__tests__/fixtures.ts';
import { startHarness, type Harness, type TestWorkspace } from '../support/harness.ts';

const basic = (key: string) => ({ authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}` });
const T = '2026-03-02T12:00:00.000Z';

describe('PQL scoring over HTTP', () => {
  let h: Harness;
  let ws: TestWorkspace;
  const api = () => h.api(ws);
  const ok = async <T = any>(p: Promise<{ status: number; body: T }>): Promise<T> => {
    const r = await p;
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body;
  };
  const clock = async (w = ws) => new Date((await ok(h.api(w).get('/v1/test_clock'))).frozen_time);
  const advance = (by: string, w = ws) => ok(h.api(w).post('/v1/test_clock/advance', { by }));
  /** Ingests a plan through the Segment-compatible API (which notifies scoring after commit). */
  const ingest = async (plan: Plan, w = ws) => {
    const r = await h.api(null).post('/v1/batch', { batch: plan.messages }, basic(w.writeKey));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.rejected, undefined, JSON.stringify(r.body.rejected));
  };
  const account = (body: Record<string, unknown>, w = ws) => ok(h.api(w).post('/v1/accounts', body));
  const crossings = async (w = ws) =>
    h.database.query<{ data: any }>(`SELECT data FROM events WHERE workspace_id = $1 AND type = 'score.threshold_crossed' ORDER BY id`, [w.id]);

  let smb: any;
  let mid: any;
  let ent: any;

  before(async () => {
    h = await startHarness();
    ws = await h.workspace({ name: 'Scoring', clockStart: T });
    smb = await account({ name: 'TinyTeach', external_id: 'grp-tiny', domains: ['tinyteach.com'] });
    mid = await account({ name: 'Growthloop', external_id: 'grp-growth', domains: ['growthloop.io'] });
    ent = await account({ name: 'Meridian Financial', external_id: 'grp-meridian', domains: ['meridianfinancial.com'] });
    const now = new Date(T);
    await ingest(lowFitSmb('grp-tiny', now));
    await ingest(fastGrowingMidMarket('grp-growth', now));
    await ingest(enterpriseEvaluator('grp-meridian', now));
    await advance('PT1S');
  });
  after(() => h.close());

  it('creates the default model on first use: PRODUCT.md’s numbers, version 1, active', async () => {
    const list = await ok(api().get('/v1/scoring/models'));
    assert.equal(list.data.length, 1);
    const m = list.data[0];
    assert.deepEqual([m.object, m.version, m.status], ['scoring_model', 1, 'active']);
    assert.deepEqual(m.config.weights, { usage: 40, fit: 35, behavior: 25 });
    assert.deepEqual(m.config.thresholds, { sales_assist: 70, enterprise: 90 });
    assert.deepEqual(m.config, JSON.parse(JSON.stringify(DEFAULT_MODEL)));
  });

  it('scores the three example accounts exactly as computed by hand, from their events and enriched firmographics', async () => {
    const s1 = await ok(api().get(`/v1/accounts/${smb.id}/score`));
    const s2 = await ok(api().get(`/v1/accounts/${mid.id}/score`));
    const s3 = await ok(api().get(`/v1/accounts/${ent.id}/score`));
    assert.deepEqual([s1.score, s1.sub_scores, s1.level], [4.3, { usage: 5, fit: 4, behavior: 3.7 }, 'none']);
    assert.deepEqual([s2.score, s2.sub_scores, s2.level], [73.7, { usage: 71, fit: 81, behavior: 67.6 }, 'sales_assist']);
    assert.deepEqual([s3.score, s3.sub_scores, s3.level], [91.8, { usage: 94, fit: 100, behavior: 76.6 }, 'enterprise']);
    const pts = (s: any) => Object.fromEntries(s.signals.map((x: any) => [x.key, x.points]));
    assert.deepEqual(pts(s2), { daily_active_users: 18, feature_adoption: 18, usage_trend: 20, collaboration: 15, company_size: 26, industry: 30, tech_stack: 25, pricing_page: 30, upgrade_intent: 29, support_engagement: 8.6 });
    const raw = (s: any) => Object.fromEntries(s.signals.map((x: any) => [x.key, x.raw]));
    assert.deepEqual(raw(s3), {
      daily_active_users: 10,
      feature_adoption: 9,
      usage_trend: 2,
      collaboration: 12,
      company_size: 2400,
      industry: 'Financial Services',
      tech_stack: ['salesforce', 'snowflake', 'okta', 'aws'],
      pricing_page: 5,
      upgrade_intent: 5,
      support_engagement: 2,
    });
    assert.deepEqual(s3.enterprise_fit, { qualified: true, met: ['size', 'teams', 'enterprise_features', 'procurement'], employees: 2400, teams: 3, enterprise_feature_events: 3, procurement_events: 1 });
    assert.deepEqual(s1.model, { id: (await ok(api().get('/v1/scoring/models'))).data[0].id, version: 1 });
  });

  it('explains the score in plain language', async () => {
    const s = await ok(api().get(`/v1/accounts/${mid.id}/score`));
    assert.equal(s.explanation.summary, 'PQL 73.7 is above 70: route to Sales Assist. Usage 71 · Fit 81 · Behavior 67.6.');
    assert.ok(s.explanation.top_contributors.includes('viewed pricing 6 times this week (+30 behavior)'), s.explanation.top_contributors.join(' | '));
    const dau = s.signals.find((x: any) => x.key === 'daily_active_users');
    assert.equal(dau.explanation, '6 daily active users (+18 usage)');
    const upgrade = s.signals.find((x: any) => x.key === 'upgrade_intent');
    assert.equal(upgrade.explanation, 'showed upgrade intent 3 times in the last 2 weeks (upgrade clicks, paywall hits, trial or demo requests) (+29 behavior, decayed from 32: latest 1 day ago)');
  });

  it('crossing a threshold publishes score.threshold_crossed once; rescoring does not repeat it', async () => {
    let c = await crossings();
    const seen = c.map((r) => [r.data.account, r.data.threshold, r.data.previous_level, r.data.score]).sort();
    const want = [
      [mid.id, 'sales_assist', 'none', 73.7],
      [ent.id, 'enterprise', 'none', 91.8],
    ].sort();
    assert.deepEqual(seen, want);
    const ev = c.find((r) => r.data.account === mid.id)!.data;
    assert.equal(ev.threshold_value, 70);
    assert.ok(ev.top_contributors.length > 0 && ev.summary.startsWith('PQL 73.7'));
    // Another ticket: the score moves (support 8.6 → 20) but the account is still Sales Assist.
    const more = fastGrowingMidMarket('grp-growth', await clock());
    more.messages.length = 0;
    more.track('g2', 'Support Ticket Created', 0);
    more.messages.forEach((m) => (m.messageId = `${m.messageId}-again`));
    await ingest(more);
    await advance('PT1S');
    const s = await ok(api().get(`/v1/accounts/${mid.id}/score`));
    assert.equal(s.signals.find((x: any) => x.key === 'support_engagement').points, 20);
    assert.ok(s.score > 73.7);
    c = await crossings();
    assert.equal(c.length, 2, 'no second crossing for the same level');
  });

  it('history: a snapshot each time the points changed, none for an identical rescore', async () => {
    const before = await ok(api().get(`/v1/accounts/${mid.id}/score/history`));
    assert.equal(before.data.length, 2);
    assert.ok(before.data[0].score > before.data[1].score);
    assert.deepEqual(before.data.map((x: any) => x.reason), ['event', 'signup']);
    assert.equal(before.data[1].score, 73.7);
    // An event that moves no points (one more event in the trend, same band): rescored, no snapshot.
    const noise = fastGrowingMidMarket('grp-growth', await clock());
    noise.messages.length = 0;
    noise.track('g1', 'Report Exported', 0);
    noise.messages.forEach((m) => (m.messageId = `${m.messageId}-noise`));
    await ingest(noise);
    await advance('PT1S');
    const flushes = await h.database.query<{ n: number }>(`SELECT count(*)::int AS n FROM jobs WHERE workspace_id = $1 AND kind = 'scoring.flush' AND status = 'done'`, [ws.id]);
    assert.ok(flushes[0].n >= 3, 'each ingest was followed by a flush');
    const after = await ok(api().get(`/v1/accounts/${mid.id}/score/history`));
    assert.equal(after.data.length, 2);
    const paged = await ok(api().get(`/v1/accounts/${mid.id}/score/history?limit=1&starting_after=${after.data[0].id}`));
    assert.deepEqual(paged.data.map((x: any) => x.id), [after.data[1].id]);
  });

  it('computes fit at signup from enrichment; group traits win over the dataset', async () => {
    const fresh = await account({ name: 'Growthloop EU', external_id: 'grp-growth-eu', domains: ['not-in-the-dataset.example'] });
    const traits = await account({ name: 'Meridian Labs', external_id: 'grp-meridian-labs', employees: 40, industry: 'Retail', domains: [] });
    await advance('PT1S');
    const hist = await ok(api().get(`/v1/accounts/${traits.id}/score/history`));
    assert.equal(hist.data.length, 1);
    assert.equal(hist.data[0].reason, 'signup');
    const s = await ok(api().get(`/v1/accounts/${traits.id}/score`));
    assert.deepEqual(s.sub_scores, { usage: 0, fit: 10 + 15, behavior: 0 }, '40 employees → 10, Retail → 15');
    const rows = await h.database.query<{ sources: any; employees: number }>('SELECT sources, employees FROM scoring_firmographics WHERE workspace_id = $1 AND account_id = $2', [ws.id, traits.id]);
    assert.deepEqual(rows.map((r) => [r.employees, r.sources]), [[40, { employees: 'account', industry: 'account' }]]);
    const unknown = await ok(api().get(`/v1/accounts/${fresh.id}/score`));
    assert.equal(unknown.sub_scores.fit, 0, 'a domain the dataset does not know adds nothing');
  });

  it('applies decay in the daily recompute as days pass without events', async () => {
    await advance('P3D');
    const s = await ok(api().get(`/v1/accounts/${mid.id}/score`));
    const pricing = s.signals.find((x: any) => x.key === 'pricing_page');
    // last recompute at 00:00 on the 5th: the views (the 2nd, 11:00) are 2 whole days old → 30 × 0.5^(2/7) = 24.6
    assert.equal(s.computed_at, '2026-03-05T00:00:00.000Z');
    assert.deepEqual([pricing.raw, pricing.base_points, pricing.points, pricing.days_since_last], [6, 30, 24.6, 2]);
    assert.equal(pricing.explanation, 'viewed pricing 6 times this week (+24.6 behavior, decayed from 30: latest 2 days ago)');
    const hist = await ok(api().get(`/v1/accounts/${mid.id}/score/history?limit=100`));
    assert.ok(hist.data.some((x: any) => x.reason === 'recompute'));
  });

  it('rejects reading another account and unknown ids with 404', async () => {
    assert.equal((await api().get('/v1/accounts/acct_nope/score')).status, 404);
    assert.equal((await api().get('/v1/accounts/acct_nope/score/history')).status, 404);
  });
});

describe('scoring models: versions, immutability, shadow', () => {
  let h: Harness;
  let ws: TestWorkspace;
  before(async () => {
    h = await startHarness();
    ws = await h.workspace({ clockStart: T });
  });
  after(() => h.close());

  const body = (over: Record<string, unknown> = {}) => ({ name: 'Heavier behavior', config: { ...DEFAULT_MODEL, weights: { usage: 30, fit: 30, behavior: 40 } }, ...over });

  it('creates drafts, edits them, refuses invalid configs with the offending path', async () => {
    const bad = await h.api(ws).post('/v1/scoring/models', body({ config: { ...DEFAULT_MODEL, weights: { usage: 50, fit: 30, behavior: 40 } } }));
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'parameter_invalid');
    assert.match(bad.body.error.message, /config\.weights: weights must sum to 100; they sum to 120/);
    const draft = (await h.api(ws).post('/v1/scoring/models', body())).body;
    assert.deepEqual([draft.status, draft.version], ['draft', 2], 'the default model is version 1');
    const edited = await h.api(ws).post(`/v1/scoring/models/${draft.id}`, { name: 'Renamed', config: { ...DEFAULT_MODEL, weights: { usage: 20, fit: 40, behavior: 40 } } });
    assert.equal(edited.status, 200);
    assert.deepEqual([edited.body.name, edited.body.config.weights], ['Renamed', { usage: 20, fit: 40, behavior: 40 }]);
  });

  it('activating archives the previous version; an active version is immutable', async () => {
    const list = (await h.api(ws).get('/v1/scoring/models')).body.data;
    const [draft, v1] = list;
    const act = await h.api(ws).post(`/v1/scoring/models/${draft.id}/activate`, {});
    assert.equal(act.body.status, 'active');
    assert.equal((await h.api(ws).get(`/v1/scoring/models/${v1.id}`)).body.status, 'archived');
    const edit = await h.api(ws).post(`/v1/scoring/models/${draft.id}`, { config: DEFAULT_MODEL });
    assert.equal(edit.status, 409);
    assert.equal(edit.body.error.code, 'scoring_model_immutable');
    const again = await h.api(ws).post(`/v1/scoring/models/${v1.id}/activate`, {});
    assert.equal(again.body.status, 'active', 'rolling back to an archived version is an activation');
  });

  it('runs a version in shadow beside the active one: its own score, no routing', async () => {
    const acct = (await h.api(ws).post('/v1/accounts', { name: 'Growthloop', domains: ['growthloop.io'] })).body;
    const shadow = (await h.api(ws).post('/v1/scoring/models', body({ name: 'Fit only', shadow: true, config: { ...DEFAULT_MODEL, weights: { usage: 0, fit: 100, behavior: 0 }, thresholds: { sales_assist: 10, enterprise: 90 } } }))).body;
    assert.equal(shadow.status, 'shadow');
    await h.api(ws).post('/v1/test_clock/advance', { by: 'PT1S' });
    const s = (await h.api(ws).get(`/v1/accounts/${acct.id}/score`)).body;
    assert.deepEqual(s.shadow, { model: { id: shadow.id, version: shadow.version }, score: 81, level: 'sales_assist', sub_scores: { usage: 0, fit: 81, behavior: 0 } });
    assert.equal(s.level, 'none');
    const c = await h.database.query(`SELECT 1 FROM events WHERE workspace_id = $1 AND type = 'score.threshold_crossed'`, [ws.id]);
    assert.equal(c.length, 0, 'a shadow model never routes');
    const hist = (await h.api(ws).get(`/v1/accounts/${acct.id}/score/history?model=${shadow.id}`)).body;
    assert.equal(hist.data[0].model.id, shadow.id);
    const off = await h.api(ws).post(`/v1/scoring/models/${shadow.id}`, { shadow: false });
    assert.equal(off.body.status, 'archived');
  });

  it('answers 404 for an unknown model', async () => {
    assert.equal((await h.api(ws).get('/v1/scoring/models/smod_nope')).status, 404);
    assert.equal((await h.api(ws).post('/v1/scoring/models/smod_nope/activate', {})).status, 404);
  });
});
