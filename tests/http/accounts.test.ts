import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHarness, type Harness, type TestWorkspace } from '../support/harness.ts';

const basic = (key: string) => ({ authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}` });

describe('accounts, contacts, merges and timelines', () => {
  let h: Harness;
  let ws: TestWorkspace;
  let other: TestWorkspace;
  let n = 0;
  const ingest = async (messages: Array<Record<string, unknown>>, w = ws) => {
    const r = await h.api(null).post('/v1/batch', { batch: messages.map((m) => ({ messageId: `acc-${++n}`, ...m })) }, basic(w.writeKey));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.rejected, undefined);
  };
  const create = async (body: Record<string, unknown>, w = ws) => {
    const r = await h.api(w).post('/v1/accounts', body);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body;
  };

  before(async () => {
    h = await startHarness();
    ws = await h.workspace({ name: 'Accounts', clockStart: '2026-02-01T00:00:00Z' });
    other = await h.workspace({ name: 'Other' });
  });
  after(() => h.close());

  describe('accounts API', () => {
    it('creates, retrieves, lists and updates accounts', async () => {
      const a = await create({ name: 'Initech', external_id: 'ini', domains: ['initech.com', 'initech.io'], employees: 150, industry: 'Software', segment: 'mid_market', motion: 'sales_assisted' });
      assert.match(a.id, /^acct_/);
      assert.deepEqual(a.domains, ['initech.com', 'initech.io']);
      assert.equal(a.status, 'active');
      const got = await h.api(ws).get(`/v1/accounts/${a.id}`);
      assert.deepEqual(got.body, a);
      const updated = await h.api(ws).post(`/v1/accounts/${a.id}`, { employees: 600, owner_id: 'rep_1', lifecycle_stage: 'customer', industry: null, domains: ['initech.com', 'initech.dev'] });
      assert.equal(updated.status, 200, JSON.stringify(updated.body));
      assert.equal(updated.body.employees, 600);
      assert.equal(updated.body.industry, null);
      assert.equal(updated.body.owner_id, 'rep_1');
      assert.equal(updated.body.segment, 'mid_market', 'untouched fields stay');
      assert.deepEqual(updated.body.domains, ['initech.com', 'initech.dev']);
      const byDomain = await h.api(ws).get('/v1/accounts?domain=https://initech.dev');
      assert.deepEqual(byDomain.body.data.map((x: any) => x.id), [a.id]);
      const audit = await h.api(ws).get(`/v1/audit_log?entity_id=${a.id}`);
      assert.deepEqual(audit.body.data.map((e: any) => e.action), ['account.updated', 'account.created']);
    });

    it('refuses a domain another account holds (409 naming it) and a taken external id', async () => {
      const owner = await create({ name: 'Owner', domains: ['owned.com'] });
      const r = await h.api(ws).post('/v1/accounts', { name: 'Thief', domains: ['OWNED.com'] });
      assert.equal(r.status, 409);
      assert.equal(r.body.error.code, 'domain_taken');
      assert.match(r.body.error.message, new RegExp(owner.id));
      const x = await create({ name: 'X' });
      const upd = await h.api(ws).post(`/v1/accounts/${x.id}`, { domains: ['owned.com'] });
      assert.equal(upd.status, 409);
      assert.equal((await h.api(ws).post('/v1/accounts', { name: 'Dup', external_id: 'ini' })).body.error.code, 'external_id_taken');
      assert.equal((await h.api(ws).post('/v1/accounts', { name: 'Bad', segment: 'huge' })).status, 400);
      assert.equal((await h.api(ws).post('/v1/accounts', { name: 'Bad', domains: ['not a domain'] })).status, 400);
    });

    it('creates and lists contacts, linking them by email domain or explicitly', async () => {
      const acct = await create({ name: 'Contoso', domains: ['contoso.com'] });
      const c1 = await h.api(ws).post('/v1/contacts', { user_id: 'c-1', email: 'Ann@Contoso.com', name: 'Ann' });
      assert.equal(c1.status, 200, JSON.stringify(c1.body));
      assert.equal(c1.body.account, acct.id);
      assert.equal(c1.body.account_source, 'domain');
      const c2 = await h.api(ws).post('/v1/contacts', { email: 'bob@gmail.com', account: acct.id });
      assert.equal(c2.body.account, acct.id);
      assert.equal(c2.body.account_source, 'api');
      assert.equal((await h.api(ws).post('/v1/contacts', { user_id: 'c-1' })).status, 409);
      const listed = await h.api(ws).get(`/v1/contacts?account=${acct.id}`);
      assert.deepEqual(listed.body.data.map((c: any) => c.id), [c2.body.id, c1.body.id]);
      assert.deepEqual((await h.api(ws).get(`/v1/contacts/${c1.body.id}`)).body, c1.body);
    });

    it('lists accounts sharing a corporate domain', async () => {
      const a = await create({ name: 'Globex', external_id: 'globex-1', domains: ['globex.com'] });
      // Another group id for the same company, with the same website: recorded, unclaimed, a duplicate.
      await ingest([{ type: 'group', userId: 'g-user', groupId: 'globex-2', traits: { name: 'Globex Corp', website: 'globex.com' } }]);
      const b = (await h.api(ws).get('/v1/accounts?external_id=globex-2')).body.data[0];
      assert.deepEqual(b.domains, [], 'not claimed: globex.com belongs to the first account');
      const dup = (await h.api(ws).get('/v1/accounts/duplicates')).body.data.find((d: any) => d.domain === 'globex.com');
      assert.deepEqual(dup, { object: 'duplicate_domain', domain: 'globex.com', accounts: [a.id, b.id].sort() });
      // Free mail is never a duplicate signal.
      await ingest([
        { type: 'group', userId: 'fm-1', groupId: 'fm-a' },
        { type: 'group', userId: 'fm-2', groupId: 'fm-b' },
        { type: 'identify', userId: 'fm-1', traits: { email: 'one@gmail.com' } },
        { type: 'identify', userId: 'fm-2', traits: { email: 'two@gmail.com' } },
      ]);
      assert.ok(!(await h.api(ws).get('/v1/accounts/duplicates?limit=100')).body.data.some((d: any) => d.domain === 'gmail.com'));
    });
  });

  describe('merge', () => {
    let keep: any;
    let gone: any;
    before(async () => {
      keep = await create({ name: 'Umbrella', external_id: 'umb', domains: ['umbrella.com'], employees: 900 });
      gone = await create({ name: 'Umbrella (dup)', external_id: 'umb-2', domains: ['umbrella.io'], industry: 'Pharma' });
      await ingest([
        { type: 'group', userId: 'u-keep', groupId: 'umb' },
        { type: 'group', userId: 'u-gone', groupId: 'umb-2' },
        { type: 'group', userId: 'u-both', groupId: 'umb' },
        { type: 'group', userId: 'u-both', groupId: 'umb-2', timestamp: '2026-01-01T00:00:00Z' },
        { type: 'track', userId: 'u-keep', event: 'Keep event' },
        { type: 'track', userId: 'u-gone', event: 'Gone event 1' },
        { type: 'track', userId: 'u-gone', event: 'Gone event 2' },
        { type: 'identify', userId: 'u-mail', traits: { email: 'mail@umbrella.io' } },
      ]);
    });

    it('moves events, contacts, domains and memberships to the survivor', async () => {
      const r = await h.api(ws).post(`/v1/accounts/${gone.id}/merge`, { into: keep.id });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.object, 'account_merge');
      assert.equal(r.body.account.id, keep.id);
      assert.equal(r.body.merged_account.status, 'merged');
      assert.equal(r.body.merged_account.merged_into, keep.id);
      assert.deepEqual(r.body.account.domains, ['umbrella.com', 'umbrella.io']);
      assert.equal(r.body.account.industry, 'Pharma', 'gaps filled from the merged account');
      assert.equal(r.body.account.employees, 900, 'the survivor keeps its values');
      assert.equal(r.body.moved.events, 5, "u-gone: group + 2 tracks; u-both's group call to umb-2; u-mail: identify");
      assert.equal(r.body.moved.contacts, 2);
      const left = await h.database.query<{ n: number }>('SELECT count(*)::int AS n FROM product_events WHERE account_id = $1', [gone.id]);
      assert.equal(left[0].n, 0);
      const contacts = (await h.api(ws).get(`/v1/contacts?account=${keep.id}&limit=100`)).body.data.map((c: any) => c.user_id).sort();
      assert.deepEqual(contacts, ['u-both', 'u-gone', 'u-keep', 'u-mail']);
    });

    it('resolves the merged id to the survivor everywhere', async () => {
      const got = await h.api(ws).get(`/v1/accounts/${gone.id}`);
      assert.equal(got.status, 200);
      assert.equal(got.body.id, keep.id);
      const timeline = await h.api(ws).get(`/v1/accounts/${gone.id}/timeline?limit=100`);
      const summaries = timeline.body.data.map((i: any) => i.summary);
      assert.ok(summaries.includes('Gone event 1 by u-gone'));
      assert.ok(summaries.includes('Keep event by u-keep'));
      assert.ok(timeline.body.data.some((i: any) => i.type === 'merge' && i.data.merged_account === gone.id));
      assert.deepEqual((await h.api(ws).get(`/v1/contacts?account=${gone.id}&limit=100`)).body.data.length, 4);
      // New data sent with the old group id or domain lands on the survivor.
      await ingest([
        { type: 'track', userId: 'new-user', event: 'Via old group', context: { groupId: 'umb-2' }, messageId: 'after-merge-1' },
        { type: 'track', userId: 'mail-user', event: 'Via old domain', context: { traits: { email: 'x@umbrella.io' } }, messageId: 'after-merge-2' },
      ]);
      const rows = await h.database.query<{ account_id: string }>(`SELECT account_id FROM product_events WHERE message_id IN ('after-merge-1', 'after-merge-2')`);
      assert.deepEqual(rows.map((r) => r.account_id), [keep.id, keep.id]);
      const merged = (await h.api(ws).get('/v1/accounts?status=merged')).body.data.map((a: any) => a.id);
      assert.ok(merged.includes(gone.id));
      assert.ok(!(await h.api(ws).get('/v1/accounts?limit=100&status=active')).body.data.some((a: any) => a.id === gone.id));
    });

    it('follows chains: merging the survivor again moves everything once more', async () => {
      const third = await create({ name: 'Umbrella Holdings' });
      assert.equal((await h.api(ws).post(`/v1/accounts/${keep.id}/merge`, { into: third.id })).status, 200);
      assert.equal((await h.api(ws).get(`/v1/accounts/${gone.id}`)).body.id, third.id, 'the first merged id resolves to the last survivor');
      const rows = await h.database.query<{ merged_into: string }>('SELECT merged_into FROM accounts WHERE id = ANY($1::text[])', [[gone.id, keep.id]]);
      assert.deepEqual(rows.map((r) => r.merged_into), [third.id, third.id], 'chains stay one hop long');
    });

    it('records the merge: audit rows and an account.merged domain event', async () => {
      const audit = await h.api(ws).get(`/v1/audit_log?entity_id=${gone.id}`);
      assert.ok(audit.body.data.some((e: any) => e.action === 'account.merged'));
      const ev = await h.database.query<{ data: any }>(`SELECT data FROM events WHERE workspace_id = $1 AND type = 'account.merged' ORDER BY id`, [ws.id]);
      assert.equal(ev.length, 2);
      assert.equal(ev[0].data.merged_account, gone.id);
    });

    it('refuses impossible merges', async () => {
      const a = await create({ name: 'Solo' });
      assert.equal((await h.api(ws).post(`/v1/accounts/${a.id}/merge`, { into: a.id })).status, 400);
      assert.equal((await h.api(ws).post(`/v1/accounts/${gone.id}/merge`, { into: a.id })).status, 409, 'already merged');
      assert.equal((await h.api(ws).post(`/v1/accounts/acct_nope/merge`, { into: a.id })).status, 404);
      assert.equal((await h.api(ws).post(`/v1/accounts/${a.id}/merge`, {})).status, 400);
    });

    it('answers 404 for another workspace’s ids', async () => {
      const foreign = await create({ name: 'Foreign', domains: ['foreign.com'] }, other);
      const mine = await create({ name: 'Mine' });
      for (const r of [
        await h.api(ws).get(`/v1/accounts/${foreign.id}`),
        await h.api(ws).get(`/v1/accounts/${foreign.id}/timeline`),
        await h.api(ws).post(`/v1/accounts/${foreign.id}`, { name: 'Hijack' }),
        await h.api(ws).post(`/v1/accounts/${foreign.id}/merge`, { into: mine.id }),
        await h.api(ws).post(`/v1/accounts/${mine.id}/merge`, { into: foreign.id }),
        await h.api(ws).get(`/v1/contacts?account=${foreign.id}`),
        await h.api(ws).post('/v1/contacts', { email: 'a@b.com', account: foreign.id }),
      ]) {
        assert.equal(r.status, 404, JSON.stringify(r.body));
      }
      assert.equal((await h.api(other).get(`/v1/accounts/${foreign.id}`)).body.name, 'Foreign');
      // Domains are per workspace: the same domain is free here.
      assert.equal((await h.api(ws).post(`/v1/accounts/${mine.id}`, { domains: ['foreign.com'] })).status, 200);
    });
  });

  describe('timeline', () => {
    it('lists events and identity changes newest first, paginated without gaps or repeats', async () => {
      await ingest([
        { type: 'group', userId: 't-user', groupId: 'tl', traits: { name: 'Timeline Co' }, timestamp: '2026-01-20T09:00:00Z' },
        { type: 'track', userId: 't-user', event: 'Third', timestamp: '2026-01-22T09:00:00Z' },
        { type: 'track', userId: 't-user', event: 'First', timestamp: '2026-01-21T09:00:00Z' },
        { type: 'track', userId: 't-user', event: 'Same instant A', timestamp: '2026-01-23T09:00:00Z' },
        { type: 'track', userId: 't-user', event: 'Same instant B', timestamp: '2026-01-23T09:00:00Z' },
        { type: 'page', userId: 't-user', name: 'Pricing', timestamp: '2026-01-24T09:00:00Z' },
      ]);
      const id = (await h.api(ws).get('/v1/accounts?external_id=tl')).body.data[0].id;
      const all = (await h.api(ws).get(`/v1/accounts/${id}/timeline?limit=100`)).body.data;
      const times = all.map((i: any) => i.occurred_at);
      assert.deepEqual(times, [...times].sort().reverse(), 'newest first');
      assert.equal(all[0].summary, 'Viewed page Pricing (t-user)');
      assert.ok(all.every((i: any) => i.object === 'timeline_item'));
      assert.deepEqual(
        [...new Set(all.map((i: any) => i.type))].sort(),
        ['event', 'identity'],
      );
      assert.ok(all.some((i: any) => i.type === 'identity' && i.data.kind === 'contact_linked'));
      assert.ok(all.some((i: any) => i.type === 'identity' && i.data.kind === 'traits_changed'));
      const paged: any[] = [];
      let cursor: string | undefined;
      for (let pages = 0; pages < 20; pages++) {
        const r = await h.api(ws).get(`/v1/accounts/${id}/timeline?limit=2${cursor ? `&starting_after=${cursor}` : ''}`);
        assert.equal(r.status, 200);
        paged.push(...r.body.data);
        if (!r.body.has_more) break;
        cursor = r.body.data[r.body.data.length - 1].id;
      }
      assert.deepEqual(paged.map((i) => i.id), all.map((i: any) => i.id));
      assert.equal(new Set(paged.map((i) => i.id)).size, paged.length);
      const foreignCursor = (await h.api(ws).get('/v1/accounts?limit=1')).body.data[0].id;
      assert.equal((await h.api(ws).get(`/v1/accounts/${id}/timeline?starting_after=${foreignCursor}`)).status, 400);
    });
  });
});
