import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { postOk, startHarness, type Harness, type TestWorkspace } from '../support/harness.ts';

const basic = (key: string) => ({ authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}` });

describe('identity resolution', () => {
  let h: Harness;
  let ws: TestWorkspace;
  let acme: string;
  let beta: string;
  let gamma: string;
  let n = 0;
  const send = async (type: string, body: Record<string, unknown>) => {
    const messageId = (body.messageId as string) ?? `id-${++n}`;
    const r = await h.api(null).post(`/v1/${type}`, { ...body, messageId }, basic(ws.writeKey));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return messageId;
  };
  const batch = async (messages: Array<Record<string, unknown>>) => {
    const r = await h.api(null).post('/v1/batch', { batch: messages }, basic(ws.writeKey));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.rejected, undefined, JSON.stringify(r.body.rejected));
  };
  const accountOf = async (messageId: string) =>
    (await h.database.query<{ account_id: string | null }>('SELECT account_id FROM product_events WHERE workspace_id = $1 AND message_id = $2', [ws.id, messageId]))[0]
      .account_id;
  const accountsOfUser = async (column: 'user_id' | 'anonymous_id', id: string) =>
    (await h.database.query<{ account_id: string | null }>(`SELECT account_id FROM product_events WHERE workspace_id = $1 AND ${column} = $2`, [ws.id, id])).map((r) => r.account_id);
  const createAccount = async (body: Record<string, unknown>) => (await postOk(h.api(ws), '/v1/accounts', body)).id as string;

  before(async () => {
    h = await startHarness();
    ws = await h.workspace({ name: 'Identity' });
    acme = await createAccount({ name: 'Acme', external_id: 'grp-acme', domains: ['acme.com', 'https://www.acme.io/'] });
    beta = await createAccount({ name: 'Beta', external_id: 'grp-beta', domains: ['beta.com'] });
    gamma = await createAccount({ name: 'Gamma', external_id: 'co-gamma' });
  });
  after(() => h.close());

  describe('precedence', () => {
    const allHints = { traits: { email: 'someone@beta.com', company: { id: 'co-gamma' } } };

    it('1. the event’s group id (context.groupId) comes first', async () => {
      await send('group', { userId: 'p1', groupId: 'grp-beta' });
      const m = await send('track', { userId: 'p1', event: 'E', context: { groupId: 'grp-acme', ...allHints } });
      assert.equal(await accountOf(m), acme);
    });

    it('2. then the user’s latest group membership', async () => {
      await send('group', { userId: 'p2', groupId: 'grp-beta' });
      const m = await send('track', { userId: 'p2', event: 'E', context: { traits: { email: 'p2@acme.com', company: { id: 'co-gamma' } } } });
      assert.equal(await accountOf(m), beta);
    });

    it('3. then traits.company.id', async () => {
      const m = await send('track', { userId: 'p3', event: 'E', context: { traits: { email: 'p3@acme.com', company: { id: 'co-gamma' } } } });
      assert.equal(await accountOf(m), gamma);
      const i = await send('identify', { userId: 'p3b', traits: { email: 'p3b@acme.com', company: { id: 'co-gamma', name: 'Gamma' } } });
      assert.equal(await accountOf(i), gamma);
      assert.equal(await accountOf(await send('track', { userId: 'p3b', event: 'Later' })), gamma, 'the link is stored');
    });

    it('4. then the corporate email domain — any of the account’s domains', async () => {
      assert.equal(await accountOf(await send('track', { userId: 'p4', event: 'E', context: { traits: { email: 'p4@acme.io' } } })), acme);
      await send('identify', { userId: 'p5', traits: { email: 'P5@Eng.Acme.com' } });
      assert.equal(await accountOf(await send('track', { userId: 'p5', event: 'No traits' })), acme, 'a subdomain resolves through the stored link');
      const contact = (await h.api(ws).get('/v1/contacts?user_id=p5')).body.data[0];
      assert.equal(contact.account, acme);
      assert.equal(contact.account_source, 'domain');
      assert.equal(contact.email, 'p5@eng.acme.com');
    });

    it('5. and never a free-mail domain', async () => {
      const refused = await h.api(ws).post('/v1/accounts', { name: 'Mail', domains: ['gmail.com'] });
      assert.equal(refused.status, 400);
      assert.equal(refused.body.error.param, 'domains');
      await send('group', { userId: 'p6-admin', groupId: 'grp-freemail', traits: { name: 'Free', website: 'https://gmail.com' } });
      const free = (await h.api(ws).get('/v1/accounts?external_id=grp-freemail')).body.data[0];
      assert.deepEqual(free.domains, [], 'a group call’s free-mail website is not recorded');
      await send('identify', { userId: 'p6', traits: { email: 'p6@gmail.com' } });
      assert.equal(await accountOf(await send('track', { userId: 'p6', event: 'E' })), null);
      assert.equal(await accountOf(await send('track', { userId: 'p6b', event: 'E', context: { traits: { email: 'x@yahoo.co.uk' } } })), null);
    });

    it('the latest group call wins, by timestamp: a late older one does not move the user back', async () => {
      await send('group', { userId: 'p10', groupId: 'grp-acme', timestamp: '2026-01-10T00:00:00Z' });
      await send('group', { userId: 'p10', groupId: 'grp-beta', timestamp: '2026-01-12T00:00:00Z' });
      assert.equal(await accountOf(await send('track', { userId: 'p10', event: 'E' })), beta);
      await send('group', { userId: 'p10', groupId: 'grp-acme', timestamp: '2026-01-11T00:00:00Z' });
      assert.equal(await accountOf(await send('track', { userId: 'p10', event: 'E' })), beta);
      const members = (await h.api(ws).get(`/v1/contacts?account=${beta}&limit=100`)).body.data.map((c: any) => c.user_id);
      assert.ok(members.includes('p10'));
    });
  });

  describe('unmatched events, attached later', () => {
    it('lists unmatched users and attaches their events when identified', async () => {
      for (let i = 0; i < 3; i++) await send('track', { userId: 'p7', event: `Before ${i}` });
      assert.deepEqual(await accountsOfUser('user_id', 'p7'), [null, null, null]);
      const unmatched = (await h.api(ws).get('/v1/accounts/unmatched_users?limit=100')).body.data;
      const p7 = unmatched.find((u: any) => u.user_id === 'p7');
      assert.equal(p7.event_count, 3);
      assert.equal(p7.id, 'u:p7');
      await send('identify', { userId: 'p7', traits: { email: 'p7@beta.com' } });
      assert.deepEqual(await accountsOfUser('user_id', 'p7'), [beta, beta, beta, beta]);
      const after = (await h.api(ws).get('/v1/accounts/unmatched_users?limit=100')).body.data;
      assert.ok(!after.some((u: any) => u.user_id === 'p7'));
    });

    it('attaches them when the user is grouped', async () => {
      await send('track', { userId: 'p8', event: 'A' });
      await send('page', { userId: 'p8', name: 'Docs' });
      await send('group', { userId: 'p8', groupId: 'grp-acme' });
      assert.deepEqual(await accountsOfUser('user_id', 'p8'), [acme, acme, acme]);
    });

    it('attaches an anonymous visitor’s events when identify links the anonymous id, and resolves later anonymous events', async () => {
      await send('page', { anonymousId: 'anon-9', name: 'Home' });
      await send('track', { anonymousId: 'anon-9', event: 'Viewed pricing' });
      assert.deepEqual(await accountsOfUser('anonymous_id', 'anon-9'), [null, null]);
      await send('identify', { userId: 'p9', anonymousId: 'anon-9', traits: { company: { id: 'co-gamma' } } });
      assert.deepEqual(await accountsOfUser('anonymous_id', 'anon-9'), [gamma, gamma, gamma]);
      assert.equal(await accountOf(await send('track', { anonymousId: 'anon-9', event: 'Still anonymous' })), gamma);
      const c = (await h.api(ws).get('/v1/contacts?user_id=p9')).body.data[0];
      assert.deepEqual(c.anonymous_ids, ['anon-9']);
    });

    it('links users who named a company before its account existed', async () => {
      await send('identify', { userId: 'p11', traits: { company: { id: 'co-delta' } } });
      const m = await send('track', { userId: 'p11', event: 'Early' });
      assert.equal(await accountOf(m), null);
      await send('group', { userId: 'p11-boss', groupId: 'co-delta', traits: { name: 'Delta' } });
      const delta = (await h.api(ws).get('/v1/accounts?external_id=co-delta')).body.data[0].id;
      assert.equal(await accountOf(m), delta);
    });

    it('links users whose email domain an account claims later', async () => {
      await send('identify', { userId: 'p12', traits: { email: 'p12@gamma.dev' } });
      const m = await send('track', { userId: 'p12', event: 'E' });
      assert.equal(await accountOf(m), null);
      const r = await h.api(ws).post(`/v1/accounts/${gamma}`, { domains: ['gamma.dev'] });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(await accountOf(m), gamma);
    });

    it('alias: events under the previous id attach to the user', async () => {
      await send('track', { userId: 'old-id-13', event: 'Before alias' });
      await send('group', { userId: 'p13', groupId: 'grp-beta' });
      await send('alias', { userId: 'p13', previousId: 'old-id-13' });
      assert.deepEqual(await accountsOfUser('user_id', 'old-id-13'), [beta]);
      assert.equal(await accountOf(await send('track', { userId: 'old-id-13', event: 'After alias' })), beta);
    });
  });

  describe('identity calls in batches', () => {
    it('applies identity calls before resolving the rest of the batch, and only once when retried', async () => {
      const messages = [
        { type: 'track', userId: 'p14', event: 'Same batch', messageId: 'ib-1' },
        { type: 'group', userId: 'p14', groupId: 'grp-new', traits: { name: 'Newco', domain: 'newco.com', employees: '250', industry: 'Software' }, messageId: 'ib-2' },
        { type: 'identify', userId: 'p15', traits: { email: 'p15@newco.com', name: 'Pat' }, messageId: 'ib-3' },
        { type: 'track', userId: 'p15', event: 'Follows', messageId: 'ib-4' },
      ];
      await batch(messages);
      const newco = (await h.api(ws).get('/v1/accounts?external_id=grp-new')).body.data[0];
      assert.equal(newco.name, 'Newco');
      assert.equal(newco.employees, 250);
      assert.equal(newco.industry, 'Software');
      assert.deepEqual(newco.domains, ['newco.com']);
      for (const id of ['ib-1', 'ib-2', 'ib-3', 'ib-4']) assert.equal(await accountOf(id), newco.id, id);
      const activity = async () => (await h.database.query<{ n: number }>('SELECT count(*)::int AS n FROM account_activity WHERE account_id = $1', [newco.id]))[0].n;
      const outbox = async () => (await h.database.query<{ n: number }>(`SELECT count(*)::int AS n FROM events WHERE workspace_id = $1 AND type IN ('account.created', 'contact.created')`, [ws.id]))[0].n;
      const [a0, o0] = [await activity(), await outbox()];
      await batch(messages);
      assert.equal(await activity(), a0, 'no new timeline items');
      assert.equal(await outbox(), o0, 'no new domain events');
      assert.equal((await h.api(ws).get('/v1/contacts?user_id=p15')).body.data.length, 1);
    });

    it('survives concurrent batches that create and link the same users in different orders', async () => {
      const users = Array.from({ length: 12 }, (_, i) => `conc-${i}`);
      const batchFor = (k: number) => {
        const order = k % 2 ? [...users].reverse() : users;
        return order.flatMap((u, i) => [
          { type: 'identify', userId: u, traits: { email: `${u}@conc-${i % 3}.example.net` }, messageId: `conc-${k}-${u}-i` },
          { type: 'group', userId: u, groupId: `conc-grp-${(i + k) % 3}`, messageId: `conc-${k}-${u}-g` },
          { type: 'track', userId: u, event: 'Concurrent', messageId: `conc-${k}-${u}-t` },
        ]);
      };
      const results = await Promise.all(Array.from({ length: 6 }, (_, k) => h.api(null).post('/v1/batch', { batch: batchFor(k) }, basic(ws.writeKey))));
      assert.deepEqual(results.map((r) => r.status), [200, 200, 200, 200, 200, 200], JSON.stringify(results.map((r) => r.body)));
      const contacts = await h.database.query<{ user_id: string; n: number }>(
        `SELECT user_id, count(*)::int AS n FROM contacts WHERE workspace_id = $1 AND user_id LIKE 'conc-%' GROUP BY user_id`,
        [ws.id],
      );
      assert.equal(contacts.length, 12);
      assert.ok(contacts.every((c) => c.n === 1));
      const accounts = await h.database.query<{ n: number }>(`SELECT count(*)::int AS n FROM accounts WHERE workspace_id = $1 AND external_id LIKE 'conc-grp-%'`, [ws.id]);
      assert.equal(accounts[0].n, 3);
      const events = await h.database.query<{ n: number; unmatched: number }>(
        `SELECT count(*)::int AS n, count(*) FILTER (WHERE account_id IS NULL)::int AS unmatched FROM product_events WHERE workspace_id = $1 AND message_id LIKE 'conc-%'`,
        [ws.id],
      );
      assert.deepEqual(events[0], { n: 6 * 36, unmatched: 0 });
    });

    it('creates an account for an unknown context.groupId on a track call', async () => {
      const m = await send('track', { userId: 'p16', event: 'E', context: { groupId: 'grp-from-track' } });
      const created = (await h.api(ws).get('/v1/accounts?external_id=grp-from-track')).body.data[0];
      assert.ok(created);
      assert.equal(await accountOf(m), created.id);
    });

    it('publishes account.created and contact.created domain events', async () => {
      const types = (await h.database.query<{ type: string }>('SELECT DISTINCT type FROM events WHERE workspace_id = $1', [ws.id])).map((r) => r.type);
      assert.ok(types.includes('account.created'));
      assert.ok(types.includes('contact.created'));
      assert.ok(!types.some((t) => t.startsWith('track')), 'product events are not domain events');
    });
  });
});
