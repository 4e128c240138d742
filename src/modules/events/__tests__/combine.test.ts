import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Combiner } from '../combine.ts';

describe('Combiner (flat combining per key)', () => {
  it('runs a lone item at once, and hands items submitted meanwhile to the next run together, in order', async () => {
    const runs: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const c = new Combiner<number, number>(async (_key, items) => {
      runs.push(items);
      if (runs.length === 1) await gate;
      return items.map((i) => ({ ok: true as const, value: i * 10 }));
    });
    const first = c.submit('ws', 1);
    const rest = [2, 3, 4].map((i) => c.submit('ws', i));
    const other = c.submit('other', 9); // another key is not held up
    assert.equal(await other, 90);
    release();
    assert.deepEqual(await Promise.all([first, ...rest]), [10, 20, 30, 40]);
    assert.deepEqual(runs, [[1], [9], [2, 3, 4]]);
  });

  it('fails only the items whose settlement failed, and every item when the run throws', async () => {
    const c = new Combiner<number, number>(async (_key, items) => {
      if (items.includes(0)) throw new Error('boom');
      return items.map((i) => (i < 0 ? { ok: false as const, error: new Error(`bad ${i}`) } : { ok: true as const, value: i }));
    });
    const [a, b] = await Promise.allSettled([c.submit('k', 1), c.submit('k', -1)]);
    assert.deepEqual(a, { status: 'fulfilled', value: 1 });
    assert.equal(b.status, 'rejected');
    await assert.rejects(c.submit('k', 0), /boom/);
    assert.equal(await c.submit('k', 5), 5, 'the key works again after a failed run');
  });

  it('with concurrency 2, starts a second run while one is in flight, and groups what arrives while both are into the first to end', async () => {
    const runs: number[][] = [];
    const ends: (() => void)[] = [];
    const c = new Combiner<number, number>(
      async (_key, items) => {
        runs.push(items);
        await new Promise<void>((r) => ends.push(r));
        return items.map((i) => ({ ok: true as const, value: i * 10 }));
      },
      64,
      2,
    );
    const all = [1, 2, 3, 4, 5].map((i) => c.submit('ws', i));
    assert.deepEqual(runs, [[1], [2]], 'two runs in flight; 3, 4 and 5 wait');
    ends[1]();
    assert.equal(await all[1], 20);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(runs, [[1], [2], [3, 4, 5]], 'the run that ended takes everything waiting');
    ends[0]();
    ends[2]();
    assert.deepEqual(await Promise.all(all), [10, 20, 30, 40, 50]);
    const six = c.submit('ws', 6);
    assert.deepEqual(runs.at(-1), [6], 'an idle key runs a lone item at once');
    ends[3]();
    assert.equal(await six, 60);
  });
});
