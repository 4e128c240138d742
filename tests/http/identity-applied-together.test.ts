import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Actor, Ctx } from '../../src/context.ts';
import { identityResolver } from '../../src/modules/accounts/index.ts';
import { ingestBatch, type IdentityPort } from '../../src/modules/events/index.ts';
import { startHarness, type Harness } from '../support/harness.ts';

/**
 * Requests of one workspace that arrive while its identity transaction runs wait for it, then go
 * together in the next one — and since this change, as ONE application of their identify and
 * group calls (one lock, one load of the rows they read, one flush of what they write, one INSERT
 * of the calls themselves) instead of one after the other. What each call writes still carries
 * its own request: the audit rows' actor, request id and time, the contacts' and timeline items'
 * created_at, the domain events' time, the stored rows' received_at.
 */
describe('identity calls of concurrent requests', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.close();
  });

  it('are applied as one application, each call on behalf of its own request', async () => {
    const ws = await h.workspace({ name: 'Together' });
    const applied: string[][] = [];
    const recording: IdentityPort = {
      ...identityResolver,
      apply(tx, parts) {
        applied.push(parts.map((p) => p.ctx.requestId ?? '?'));
        return identityResolver.apply(tx, parts);
      },
    };
    const t0 = h.tandem.deps.clock.now().getTime();
    const request = (n: number, actor: Actor): Ctx => ({ deps: h.tandem.deps, workspaceId: ws.id, asOf: new Date(t0 + n * 1000), actor, requestId: `req_${n}` });
    const keyA: Actor = { type: 'api_key', id: 'key_a' };
    const keyB: Actor = { type: 'api_key', id: 'key_b' };
    const send = (ctx: Ctx, batch: unknown[]) => ingestBatch(ctx, { body: { batch }, bytes: 2000 }, recording);
    // Started in the same tick: the first runs alone, the two others arrive while it runs.
    const results = await Promise.all([
      send(request(1, keyA), [
        { type: 'identify', userId: 'u1', messageId: 'm1', traits: { email: 'u1@one.example.com', name: 'One' } },
        { type: 'group', userId: 'u1', groupId: 'org-a', messageId: 'm2', traits: { name: 'Org A' } },
      ]),
      send(request(2, keyB), [
        { type: 'identify', userId: 'u2', messageId: 'm3', traits: { name: 'Two' } },
        { type: 'group', userId: 'u2', groupId: 'org-b', messageId: 'm4', traits: { name: 'Org B', domain: 'orgb.example.com' } },
        { type: 'identify', userId: 'u3', messageId: 'shared', traits: { name: 'Three, first' } },
      ]),
      send(request(3, keyA), [
        // The same messageId as request 2's: applied and stored once, from request 2.
        { type: 'identify', userId: 'u3', messageId: 'shared', traits: { name: 'Three, second' } },
        { type: 'group', userId: 'u3', groupId: 'org-a', messageId: 'm5', traits: { industry: 'Software' } },
      ]),
    ]);
    for (const r of results) assert.deepEqual(r.rejected, []);
    assert.deepEqual(applied, [['req_1'], ['req_2', 'req_3']], 'requests 2 and 3 are applied together');

    const at = (n: number) => new Date(t0 + n * 1000).toISOString();
    const iso = (v: unknown) => new Date(v as string).toISOString();
    const audits = await h.database.query<{ action: string; entity_id: string; actor_id: string; request_id: string; created_at: string }>(
      `SELECT action, entity_id, actor_id, request_id, created_at FROM audit_log WHERE workspace_id = $1 AND action IN ('contact.created', 'account.created')`,
      [ws.id],
    );
    const contacts = await h.database.query<{ id: string; user_id: string; name: string; account_id: string; created_at: string }>(
      `SELECT c.id, c.user_id, c.name, a.external_id AS account_id, c.created_at FROM contacts c LEFT JOIN accounts a ON a.id = c.account_id WHERE c.workspace_id = $1 ORDER BY c.user_id`,
      [ws.id],
    );
    const accounts = await h.database.query<{ id: string; external_id: string; created_at: string }>(`SELECT id, external_id, created_at FROM accounts WHERE workspace_id = $1 ORDER BY external_id`, [ws.id]);
    const byUser = new Map(contacts.map((c) => [c.user_id, c]));
    const byExternal = new Map(accounts.map((a) => [a.external_id, a]));
    const auditOf = (entity: string) => {
      const found = audits.filter((a) => a.entity_id === entity);
      assert.equal(found.length, 1, `one audit row for ${entity}`);
      return { actor: found[0].actor_id, request: found[0].request_id, at: iso(found[0].created_at) };
    };
    assert.deepEqual(
      contacts.map((c) => [c.user_id, c.name, c.account_id, iso(c.created_at)]),
      [
        ['u1', 'One', 'org-a', at(1)],
        ['u2', 'Two', 'org-b', at(2)],
        ['u3', 'Three, first', 'org-a', at(2)],
      ],
    );
    assert.deepEqual(auditOf(byUser.get('u1')!.id), { actor: 'key_a', request: 'req_1', at: at(1) });
    assert.deepEqual(auditOf(byUser.get('u2')!.id), { actor: 'key_b', request: 'req_2', at: at(2) });
    assert.deepEqual(auditOf(byUser.get('u3')!.id), { actor: 'key_b', request: 'req_2', at: at(2) });
    assert.deepEqual(auditOf(byExternal.get('org-a')!.id), { actor: 'key_a', request: 'req_1', at: at(1) });
    assert.deepEqual(auditOf(byExternal.get('org-b')!.id), { actor: 'key_b', request: 'req_2', at: at(2) });
    assert.equal(iso(byExternal.get('org-b')!.created_at), at(2));

    // Timeline items and domain events at their own request's instant.
    const activity = await h.database.query<{ account_id: string; kind: string; data: { contact?: string; domain?: string }; created_at: string }>(
      `SELECT account_id, kind, data, created_at FROM account_activity WHERE workspace_id = $1`,
      [ws.id],
    );
    const activityAt = (accountId: string, kind: string, match: (d: { contact?: string; domain?: string }) => boolean) => {
      const found = activity.filter((a) => a.account_id === accountId && a.kind === kind && match(a.data));
      assert.equal(found.length, 1, `one ${kind} on ${accountId}`);
      return iso(found[0].created_at);
    };
    assert.equal(activityAt(byExternal.get('org-a')!.id, 'contact_linked', (d) => d.contact === byUser.get('u3')!.id), at(3));
    assert.equal(activityAt(byExternal.get('org-a')!.id, 'contact_linked', (d) => d.contact === byUser.get('u1')!.id), at(1));
    assert.equal(activityAt(byExternal.get('org-b')!.id, 'domain_added', (d) => d.domain === 'orgb.example.com'), at(2));
    const published = await h.database.query<{ type: string; occurred_at: string }>(
      `SELECT type, occurred_at FROM events WHERE workspace_id = $1 AND type = 'account.created' AND data -> 'account' ->> 'id' = $2`,
      [ws.id, byExternal.get('org-b')!.id],
    );
    assert.deepEqual(
      published.map((e) => [e.type, iso(e.occurred_at)]),
      [['account.created', at(2)]],
    );

    // Each call stored once, with its own request's received_at, on its account.
    const rows = await h.database.query<{ message_id: string; received_at: string; account: string | null }>(
      `SELECT e.message_id, e.received_at, a.external_id AS account FROM product_events e LEFT JOIN accounts a ON a.id = e.account_id WHERE e.workspace_id = $1 ORDER BY e.message_id`,
      [ws.id],
    );
    assert.deepEqual(
      rows.map((r) => [r.message_id, iso(r.received_at), r.account]),
      [
        ['m1', at(1), 'org-a'],
        ['m2', at(1), 'org-a'],
        ['m3', at(2), 'org-b'],
        ['m4', at(2), 'org-b'],
        ['m5', at(3), 'org-a'],
        ['shared', at(2), 'org-a'],
      ],
    );
  });
});
