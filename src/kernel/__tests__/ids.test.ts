import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { idTimeMs, newId, newIds } from '../ids.ts';

describe('newId and newIds', () => {
  it('make distinct ids in one format, sorted in the order they were made', () => {
    const made: string[] = [];
    for (let i = 0; i < 200; i++) {
      made.push(newId('pev'));
      made.push(...newIds('pev', i % 7 === 0 ? 1000 : i % 5));
    }
    assert.equal(new Set(made).size, made.length);
    for (const id of made) assert.match(id, /^pev_[0-9A-Za-z]{20}$/);
    // JavaScript compares strings by code unit, as the C collation does: base62's alphabet is in that order.
    for (let i = 1; i < made.length; i++) assert.ok(made[i - 1] < made[i], `${made[i - 1]} !< ${made[i]} at ${i}`);
  });

  it('keep the time part on the clock however many ids a millisecond makes', () => {
    const t0 = Date.now();
    let last = '';
    for (let i = 0; i < 100_000; i++) last = newId('evt');
    for (let i = 0; i < 100; i++) last = newIds('pev', 500).at(-1)!;
    // One millisecond per extra id (the old bump) would put these ~150,000 ms ahead.
    assert.ok(idTimeMs(last) <= Date.now(), `time part ${idTimeMs(last)} is ahead of the clock ${Date.now()}`);
    assert.ok(idTimeMs(last) >= t0);
  });

  it('crosses a block of 62^3 rows in order', () => {
    const ids = newIds('pev', 62 ** 3 + 5);
    assert.equal(new Set(ids).size, ids.length);
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i - 1] < ids[i]);
  });
});
