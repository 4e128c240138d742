import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startedByNpmScript, watchParent } from '../parent-watch.ts';

describe('watchParent', () => {
  const manual = () => {
    let check: (() => void) | null = null;
    return {
      every: (fn: () => void) => {
        check = fn;
        return () => (check = null);
      },
      tick: () => check?.(),
      get running() {
        return check !== null;
      },
    };
  };

  it('fires once, when the parent pid changes, and stops checking', () => {
    let ppid = 4242;
    let gone = 0;
    const timer = manual();
    watchParent({ ppid: () => ppid, every: timer.every, onGone: () => gone++ });
    timer.tick();
    timer.tick();
    assert.equal(gone, 0);
    ppid = 1; // re-parented: the shell npm started the server with is gone
    timer.tick();
    assert.equal(gone, 1);
    assert.equal(timer.running, false);
    timer.tick();
    assert.equal(gone, 1);
  });

  it('does nothing once stopped', () => {
    let ppid = 4242;
    let gone = 0;
    const timer = manual();
    const w = watchParent({ ppid: () => ppid, every: timer.every, onGone: () => gone++ });
    w.stop();
    ppid = 1;
    timer.tick();
    assert.equal(gone, 0);
    assert.equal(timer.running, false);
  });

  it('is used under an npm script only', () => {
    assert.equal(startedByNpmScript({ npm_lifecycle_event: 'start' }), true);
    assert.equal(startedByNpmScript({}), false);
    assert.equal(startedByNpmScript({ npm_lifecycle_event: '' }), false);
  });
});
