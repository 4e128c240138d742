import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PACE_FACTOR, PACE_FREE_MS, pauseAfterFlush } from '../schedule.ts';

describe('flush pacing under load', () => {
  it('pauses only after flushes longer than the free allowance, by PACE_FACTOR × the excess', () => {
    assert.equal(pauseAfterFlush(0, 'postgres'), 0); // a test's manual clock: no time passes during a flush
    assert.equal(pauseAfterFlush(0, 'pglite'), 0);
    assert.equal(pauseAfterFlush(250, 'postgres'), 0); // the 1,000 events/s regime of the event → score target
    assert.equal(pauseAfterFlush(PACE_FREE_MS.postgres, 'postgres'), 0);
    assert.equal(pauseAfterFlush(2000, 'postgres'), (2000 - PACE_FREE_MS.postgres) * PACE_FACTOR); // 3,000 ms with the defaults
    assert.equal(pauseAfterFlush(290, 'pglite'), (290 - PACE_FREE_MS.pglite) * PACE_FACTOR); // 480 ms: one thread does everything
  });

  it('keeps long flushes to about a third of the time', () => {
    for (const kind of ['postgres', 'pglite'] as const) {
      for (const d of [600, 1000, 2000, 5000, 30_000]) {
        const share = d / (d + pauseAfterFlush(d, kind));
        assert.ok(share < 0.86, `${kind}, a ${d} ms flush: ${share}`);
        if (d >= 2000) assert.ok(share <= 0.4, `${kind}, a ${d} ms flush: ${share}`);
      }
    }
  });
});
