import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AnswerCache } from '../answers.ts';
import type { Answer, Ask } from '../protocol.ts';

/**
 * The check process's answer rules (answers.ts), with the API process's side played by the test:
 * it sees each ask and chooses when and what to answer; time is the test's.
 */
function setup() {
  let wall = 1_000_000;
  const asked: Ask[] = [];
  const cache = new AnswerCache({ now: () => wall, send: (asks) => asked.push(...asks), ttlMs: 1000, refreshAfterMs: 600, refreshAlongMs: 300 });
  const flushed = () => new Promise((resolve) => setImmediate(resolve));
  const answer = (a: Ask, body: string, o: Partial<{ workspace: string; account: string; keepMs: number }> = {}): Answer => ({
    n: a.n,
    ok: true,
    body,
    workspace: o.workspace ?? 'ws_1',
    account: o.account ?? a.account,
    keepMs: o.keepMs ?? Infinity,
  });
  return {
    cache,
    asked,
    flushed,
    answer,
    advance: (ms: number) => {
      wall += ms;
    },
  };
}
const req = (account: string, feature = 'sso') => ({ authorization: 'Bearer sk_1', account, feature });

describe('the check process keeps answers as the API process says', () => {
  it('asks once for concurrent misses, keeps the answer for the TTL from the ask, and asks again fresh ahead of expiry', async () => {
    const t = setup();
    const a = t.cache.get(req('acct_1'));
    const b = t.cache.get(req('acct_1'));
    await t.flushed();
    assert.equal(t.asked.length, 1);
    assert.equal(t.asked[0].fresh, true);
    t.advance(100); // the answer arrives 100 ms after it was asked for
    t.cache.answered([t.answer(t.asked[0], '{"v":1}')]);
    assert.deepEqual([await a, await b], ['{"v":1}', '{"v":1}']);
    t.advance(499); // 599 ms after the ask
    assert.equal(t.cache.now(req('acct_1')), '{"v":1}');
    await t.flushed();
    assert.equal(t.asked.length, 1, 'not yet old enough to ask again');
    t.advance(1);
    assert.equal(t.cache.now(req('acct_1')), '{"v":1}', 'still served while asked again');
    await t.flushed();
    assert.equal(t.asked.length, 2);
    t.advance(400); // 1000 ms after the first ask: expired, the second one not answered yet
    assert.equal(t.cache.now(req('acct_1')), undefined);
    t.cache.answered([t.answer(t.asked[1], '{"v":2}')]);
    await t.flushed();
    assert.equal(t.cache.now(req('acct_1')), '{"v":2}');
    t.advance(599);
    assert.equal(t.cache.now(req('acct_1')), '{"v":2}', 'the second answer counts from its own ask');
  });

  it('never serves an answer past its period, nor one it was told not to keep, nor an error', async () => {
    const t = setup();
    const p = t.cache.get(req('acct_1'));
    const q = t.cache.get(req('acct_2'));
    const r = t.cache.get(req('acct_3'));
    await t.flushed();
    t.cache.answered([t.answer(t.asked[0], 'a', { keepMs: 200 }), t.answer(t.asked[1], 'sandbox', { keepMs: 0 }), { n: t.asked[2].n, ok: false }]);
    assert.deepEqual([await p, await q, await r], ['a', 'sandbox', undefined]);
    assert.equal(t.cache.now(req('acct_2')), undefined);
    assert.equal(t.cache.now(req('acct_3')), undefined);
    t.advance(199);
    assert.equal(t.cache.now(req('acct_1')), 'a');
    t.advance(1);
    assert.equal(t.cache.now(req('acct_1')), undefined, 'the period ended');
  });

  it("rebuilds the refreshed accounts' answers and resolves only when they are in, serving the old ones until then", async () => {
    const t = setup();
    for (const acct of ['acct_1', 'acct_2']) void t.cache.get(req(acct));
    await t.flushed();
    t.cache.answered(t.asked.map((a) => t.answer(a, `${a.account}:old`, { account: `live_${a.account}` })));
    await t.flushed();
    t.advance(100);
    let refreshed = false;
    const done = t.cache.refresh('ws_1', ['live_acct_1', 'live_other']).then(() => (refreshed = true));
    await t.flushed();
    assert.deepEqual(
      t.asked.slice(2).map((a) => [a.account, a.fresh]),
      [['acct_1', false]],
      'only the held answer of a refreshed account, from the API process cache',
    );
    assert.equal(t.cache.now(req('acct_1')), 'acct_1:old');
    assert.equal(refreshed, false);
    t.cache.answered([t.answer(t.asked[2], 'acct_1:new', { account: 'live_acct_1' })]);
    await done;
    assert.equal(t.cache.now(req('acct_1')), 'acct_1:new');
    t.advance(899);
    assert.equal(t.cache.now(req('acct_1')), 'acct_1:new', 'a rebuilt answer keeps the age of the fresh read it replaced');
    t.advance(1);
    assert.equal(t.cache.now(req('acct_1')), undefined);
  });

  it('keeps no answer asked before a drop of its workspace, nor an older answer over a newer one', async () => {
    const t = setup();
    const before = t.cache.get(req('acct_1'));
    await t.flushed();
    t.cache.drop('ws_1');
    t.cache.answered([t.answer(t.asked[0], 'before the write')]);
    assert.equal(await before, 'before the write', 'it still answers the request that asked');
    assert.equal(t.cache.now(req('acct_1')), undefined, 'but is not kept');
    // Another workspace's drop changes nothing here.
    const again = t.cache.get(req('acct_1'));
    await t.flushed();
    t.cache.drop('ws_2');
    t.cache.answered([t.answer(t.asked[1], 'after the write')]);
    assert.equal(await again, 'after the write');
    assert.equal(t.cache.now(req('acct_1')), 'after the write');
    // A refresh's answer (newer) arrives before the fresh one asked earlier: the older one is not kept over it.
    t.advance(700);
    assert.equal(t.cache.now(req('acct_1')), 'after the write'); // asks fresh ahead of expiry (n = 3)
    await t.flushed();
    const refresh = t.cache.refresh('ws_1', ['acct_1']); // n = 4
    await t.flushed();
    const [fresh, rebuilt] = t.asked.slice(2);
    t.cache.answered([t.answer(rebuilt, 'newer')]);
    await refresh;
    t.cache.answered([t.answer(fresh, 'older')]);
    await t.flushed();
    assert.equal(t.cache.now(req('acct_1')), 'newer');
    // Dropping everything.
    t.cache.drop(null);
    assert.equal(t.cache.size, 0);
  });
});
