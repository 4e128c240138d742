import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { startGcLog, summarizeGcLog } from '../bench/gc-log.ts';

describe('the benchmarks’ GC log', () => {
  it('sums the pauses that started in the window, scavenges apart', () => {
    const log = ['1000 1 5.5', '1500 4 2', '1999 16 0.25', '2001 1 9', '999 1 3', 'garbage', ''].join('\n');
    assert.deepEqual(summarizeGcLog(log, 1000, 2000), { gc_scavenges: 1, gc_other: 2, gc_pause_ms_total: 7.8, gc_pause_ms_max: 5.5 });
    assert.deepEqual(summarizeGcLog(log, 5000, 6000), { gc_scavenges: 0, gc_other: 0, gc_pause_ms_total: 0, gc_pause_ms_max: 0 });
  });

  it("writes this process's collections with their wall-clock instant", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tandem-gc-log-'));
    const file = path.join(dir, 'gc.log');
    const from = Date.now();
    const stop = startGcLog(file);
    try {
      // Allocate until a young-generation collection has been reported (the observer is called
      // between event-loop turns, so each round yields once).
      let keep: unknown[] = [];
      let text = '';
      for (let round = 0; round < 2000 && !text; round++) {
        for (let i = 0; i < 20_000; i++) keep.push({ i, s: `x${i}` });
        keep = [];
        await new Promise((resolve) => setImmediate(resolve));
        try {
          text = readFileSync(file, 'utf8');
        } catch {
          /* nothing yet */
        }
      }
      assert.ok(text, 'no collection was logged');
      const s = summarizeGcLog(text, from, Date.now());
      assert.ok(s.gc_scavenges >= 1, text);
      assert.ok(s.gc_pause_ms_total > 0 && s.gc_pause_ms_max > 0, text);
    } finally {
      stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
