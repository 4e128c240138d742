import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Ctx } from '../../src/context.ts';
import type { Database } from '../../src/db/client.ts';
import { openTestDatabase } from '../../src/db/testing.ts';
import { identityResolver } from '../../src/modules/accounts/index.ts';
import type { Exec, NormalizedMessage } from '../../src/modules/events/index.ts';

/**
 * A batch of tracks that carry a group id, with anonymous page views mixed in: the tracks are
 * resolved by their group alone (it outranks every other hint), and only the page views, and a
 * track whose group has no account yet, go on to the lookup of users, aliases and domains.
 * Before, one message without a group id sent every message's user to that lookup.
 */
describe('a mixed batch looks up users only for the messages its group ids do not resolve', () => {
  let db: Database;
  const at = new Date('2026-01-01T00:00:00Z');
  before(async () => {
    db = await openTestDatabase();
    await db.query(`INSERT INTO workspaces (id, name, created_at) VALUES ('ws_1', 'One', $1), ('ws_2', 'Two', $1)`, [at.toISOString()]);
    await db.query(
      `INSERT INTO accounts (id, workspace_id, external_id, name, created_at, updated_at)
       VALUES ('acct_a', 'ws_1', 'org-a', 'A', $1, $1), ('acct_b', 'ws_1', 'org-b', 'B', $1, $1), ('acct_x', 'ws_2', 'org-c', 'X', $1, $1)`,
      [at.toISOString()],
    );
  });
  after(async () => {
    await db?.close();
  });

  const msg = (m: Partial<NormalizedMessage>): NormalizedMessage => ({
    index: 0, messageId: 'm', type: 'track', event: 'E', userId: null, anonymousId: null, groupId: null, previousId: null,
    timestamp: at, sentAt: null, receivedAt: at, properties: null, traits: null, context: null, ...m,
  });

  it('resolves the tracks by group and looks up only the rest', async () => {
    const statements: Array<{ text: string; params: unknown[] }> = [];
    const exec: Exec = async (text, params) => {
      statements.push({ text, params: params ?? [] });
      return db.query(text, params);
    };
    const messages = [
      msg({ userId: 'u1', groupId: 'org-a', context: { groupId: 'org-a' } }),
      msg({ userId: 'u2', groupId: 'org-b', context: { groupId: 'org-b' } }),
      msg({ type: 'page', event: 'Pricing', anonymousId: 'visitor-1' }),
      msg({ userId: 'u3', groupId: 'org-c', context: { groupId: 'org-c' } }), // org-c is another workspace's
    ];
    const ctx = { workspaceId: 'ws_1', asOf: at } as Ctx;
    const r = await identityResolver.resolve(exec, ctx, messages);
    assert.deepEqual(r.accountIds, ['acct_a', 'acct_b', null, null]);
    assert.deepEqual(r.missingGroupIds, ['org-c']);
    const lookups = statements.filter((s) => s.text.includes("SELECT 'u' AS k"));
    assert.equal(lookups.length, 1);
    const [, userIds, aliases] = lookups[0].params as [string, string[], string[]];
    assert.deepEqual(userIds, ['u3']);
    assert.deepEqual([...aliases].sort(), ['u3', 'visitor-1']);
  });
});
