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
});
