/**
 * The server's garbage-collection pauses, for the HTTP benchmarks. A benchmark starts `tandem
 * serve` with TANDEM_BENCH_GC_LOG=<file>; the server then appends one line per GC to that file
 * ("<wall ms> <kind> <pause ms>", from node's `gc` performance entries), and the benchmark sums
 * the pauses that fell in its timed run. At 5,000 entitlement checks a second a young-generation
 * pause of 5 ms holds ~25 checks behind it, a part of the p99 of `bench entitlements`; the JSON
 * line then says how large a part, instead of needing a traced run.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { constants, performance, PerformanceObserver } from 'node:perf_hooks';

export const GC_LOG_ENV = 'TANDEM_BENCH_GC_LOG';

/** Starts logging this process's GC pauses to `file`; returns a function that stops it. */
export function startGcLog(file: string): () => void {
  const observer = new PerformanceObserver((list) => {
    const lines = list.getEntries().map((e) => {
      const kind = (e as { detail?: { kind?: number } }).detail?.kind ?? 0;
      return `${Math.round(performance.timeOrigin + e.startTime)} ${kind} ${e.duration.toFixed(3)}\n`;
    });
    if (lines.length) appendFileSync(file, lines.join(''));
  });
  observer.observe({ entryTypes: ['gc'] });
  return () => observer.disconnect();
}

export interface GcSummary {
  /** Young-generation collections (scavenges). */
  gc_scavenges: number;
  /** Every other kind: mark-compact, incremental marking steps, weak callbacks. */
  gc_other: number;
  gc_pause_ms_total: number;
  gc_pause_ms_max: number;
}

/**
 * The pauses of a GC log (startGcLog's lines) that started within [fromMs, toMs] (wall clock).
 * "1000 1 5.5\n1500 4 2\n9000 1 7" over [900, 2000] → 1 scavenge, 1 other, 7.5 ms in all, 5.5 at most.
 */
export function summarizeGcLog(text: string, fromMs: number, toMs: number): GcSummary {
  const out: GcSummary = { gc_scavenges: 0, gc_other: 0, gc_pause_ms_total: 0, gc_pause_ms_max: 0 };
  for (const line of text.split('\n')) {
    const [at, kind, ms] = line.trim().split(' ').map(Number);
    if (!Number.isFinite(at) || !Number.isFinite(ms) || at < fromMs || at > toMs) continue;
    if (kind === constants.NODE_PERFORMANCE_GC_MINOR) out.gc_scavenges++;
    else out.gc_other++;
    out.gc_pause_ms_total += ms;
    out.gc_pause_ms_max = Math.max(out.gc_pause_ms_max, ms);
  }
  out.gc_pause_ms_total = Number(out.gc_pause_ms_total.toFixed(1));
  out.gc_pause_ms_max = Number(out.gc_pause_ms_max.toFixed(2));
  return out;
}

/** summarizeGcLog of a file; zeros when the file does not exist (the server never collected). */
export function summarizeGcFile(file: string, fromMs: number, toMs: number): GcSummary {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    /* no GC logged */
  }
  return summarizeGcLog(text, fromMs, toMs);
}
