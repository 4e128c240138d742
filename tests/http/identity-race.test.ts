import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Ctx } from '../../src/context.ts';
import { identityResolver } from '../../src/modules/accounts/index.ts';
import { ingestBatch, type IdentityPort } from '../../src/modules/events/index.ts';
import { startHarness, type Harness } from '../support/harness.ts';

/**
 * Two concurrent requests of one workspace: B carries a user's tracks without a group id, A the
 * group call that links that user to an account. B resolves its rows before A links the user, A
 * attaches the user's unmatched events before B's rows are stored: without a second look, B's
 * rows would stay unmatched although their user is linked. The interleaving is forced by pausing
 * B between its resolution and its INSERT (the real identity resolver, awaited at one point).
 */
describe('events stored while their user is being linked', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.close();
  });
  const ctxOf = (workspaceId: string): Ctx => ({ deps: h.tandem.deps, workspaceId, asOf: h.tandem.deps.clock.now(), actor: { type: 'cli' } });

  it('are attached to the account the concurrent group call linked the user to', async () => {
    const ws = await h.workspace({ name: 'Race' });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let resolvedB!: () => void;
    const bResolved = new Promise<void>((r) => (resolvedB = r));
    let paused = false;
    const pausing: IdentityPort = {
      ...identityResolver,
      async resolve(exec, c, messages) {
        const r = await identityResolver.resolve(exec, c, messages);
        if (!paused && messages.some((m) => m.userId === 'late-user')) {
          paused = true;
          assert.ok(r.accountIds.every((a) => a === null), 'B resolves before the link exists');
          resolvedB();
          await gate;
        }
        return r;
      },
    };
    const tracks = [1, 2, 3].map((i) => ({ type: 'track', userId: 'late-user', event: 'Report Generated', messageId: `late-${i}`, properties: { i } }));
    const b = ingestBatch(ctxOf(ws.id), { body: { batch: tracks }, bytes: 1000 }, pausing);
    await bResolved;
    const group = { type: 'group', userId: 'late-user', groupId: 'org-late', messageId: 'late-group', traits: { name: 'Late Corp' } };
    const a = await ingestBatch(ctxOf(ws.id), { body: { batch: [group] }, bytes: 500 }, identityResolver);
    assert.equal(a.rejected.length, 0);
    release();
    const rb = await b;
    assert.equal(rb.rejected.length, 0);

    const account = (await h.api(ws).get('/v1/accounts?external_id=org-late')).body.data[0];
    assert.ok(account, 'the group call created the account');
    const rows = await h.database.query<{ message_id: string; account_id: string | null }>(
      `SELECT message_id, account_id FROM product_events WHERE workspace_id = $1 AND user_id = 'late-user' ORDER BY message_id`,
      [ws.id],
    );
    assert.deepEqual(
      rows.map((r) => [r.message_id, r.account_id]),
      [
        ['late-1', account.id],
        ['late-2', account.id],
        ['late-3', account.id],
        ['late-group', account.id],
      ],
    );
  });

  it('stay unmatched when nobody links their user', async () => {
    const ws = await h.workspace({ name: 'Alone' });
    await ingestBatch(ctxOf(ws.id), { body: { batch: [{ type: 'track', userId: 'nobody', event: 'Report Generated', messageId: 'alone-1' }] }, bytes: 200 }, identityResolver);
    const rows = await h.database.query<{ account_id: string | null }>(`SELECT account_id FROM product_events WHERE workspace_id = $1`, [ws.id]);
    assert.deepEqual(rows, [{ account_id: null }]);
  });
});
