import { addMonths, DAY_MS } from '../kernel/dates.ts';
import { stepMessages, type SegmentMessage } from './demo-activity.ts';
import { loadBillingState, onboard, storiesAt } from './demo-billing.ts';
import { ensureCatalog } from './demo-catalog.ts';
import type { DemoApi } from './demo-client.ts';
import { generateCompany, STEPS_PER_MONTH } from './demo-company.ts';

/**
 * Builds the demo company by driving the public API over the sandbox's test clock:
 *
 *   catalog → for each step of the timeline (4 a month): move the clock to the step, sign up the
 *   accounts whose turn it is (identify + group, a card, a subscription), play the scripted
 *   stories, then send everyone's events for the coming week — timestamps inside the week,
 *   ahead of the clock, so when the clock passes a renewal every usage event of the period is
 *   already stored and billed. Advancing the clock runs renewals, card retries, Net-terms
 *   overdue checks, daily scoring and score snapshots, in time order.
 *
 * Steps of month k start at addMonths(start, k) + 0, 7, 14 and 21 days; the last step is
 * addMonths(start, months), where the clock stops. Every call is repeatable: objects are looked
 * up before they are created, events carry fixed messageIds, the clock only moves forward.
 */
export interface DemoBuildOptions {
  accounts: number;
  months: number;
  seed: number;
  /** The test clock's start: the first step. */
  start: Date;
}

export interface DemoBuildReport {
  messagesSent: number;
  clockAdvances: number;
  jobsRun: number;
  stories: string[];
  apiCalls: number;
  /** Wall milliseconds spent ingesting messages and advancing the clock (the rest: setup, billing calls). */
  ingestMs: number;
  advanceMs: number;
}

/** Segment's batch limit is 500 KB; stay under it with room for the envelope. */
const BATCH_BYTES = 400_000;

export function timeline(start: Date, months: number): Date[] {
  const steps: Date[] = [];
  for (let k = 0; k < months; k++) {
    const monthStart = addMonths(start, k);
    for (let w = 0; w < STEPS_PER_MONTH; w++) steps.push(new Date(monthStart.getTime() + w * 7 * DAY_MS));
  }
  steps.push(addMonths(start, months));
  return steps;
}

export async function buildDemo(api: DemoApi, opts: DemoBuildOptions, log: (line: string) => void = () => undefined): Promise<DemoBuildReport> {
  const report: DemoBuildReport = { messagesSent: 0, clockAdvances: 0, jobsRun: 0, stories: [], apiCalls: 0, ingestMs: 0, advanceMs: 0 };
  const steps = timeline(opts.start, opts.months);
  const totalSteps = steps.length - 1;
  const catalog = await ensureCatalog(api);
  const company = generateCompany(opts);
  const ids = new Map<string, string>();
  const state = await loadBillingState(api);
  let clock = new Date((await api.get('/v1/test_clock')).frozen_time);

  for (let s = 0; s <= totalSteps; s++) {
    const at = steps[s]!;
    if (clock < at) {
      const t0 = Date.now();
      const r = await api.post('/v1/test_clock/advance', { to: at.toISOString() });
      report.advanceMs += Date.now() - t0;
      clock = new Date(r.frozen_time);
      report.clockAdvances += 1;
      report.jobsRun += r.jobs_run;
    }
    if (s === totalSteps) break;
    const window = { start: at, end: steps[s + 1]! };
    const messages: SegmentMessage[] = company.flatMap((a) => stepMessages(a, s, window, opts.seed, totalSteps));
    // Identity first (accounts exist before their subscriptions), then the product events.
    const identity = messages.filter((m) => m.type !== 'track');
    const tracks = messages.filter((m) => m.type === 'track');
    for (const chunk of chunks(identity)) await send(api, chunk, report);
    const joining = company.filter((a) => a.signupStep === s);
    if (joining.length > 0) {
      await refreshIds(api, ids);
      for (const a of joining) {
        const id = ids.get(a.groupId);
        if (!id) throw new Error(`demo: the group call for ${a.groupId} did not create an account`);
        await onboard(api, a, id, state, clock);
      }
    }
    const stories = await storiesAt(api, { step: s, totalSteps, clock, accounts: company, ids, state, catalog });
    for (const line of stories) log(`  ${clock.toISOString().slice(0, 10)}  ${line}`);
    report.stories.push(...stories);
    for (const chunk of chunks(tracks)) await send(api, chunk, report);
    if ((s + 1) % STEPS_PER_MONTH === 0) log(`  month ${(s + 1) / STEPS_PER_MONTH} of ${opts.months} sent (${report.messagesSent} messages so far)`);
  }
  report.apiCalls = api.calls;
  return report;
}

async function send(api: DemoApi, batch: SegmentMessage[], report: DemoBuildReport) {
  const t0 = Date.now();
  const r = await api.ingest('/v1/batch', { batch });
  report.ingestMs += Date.now() - t0;
  if (Array.isArray(r.rejected) && r.rejected.length > 0) throw new Error(`demo: ingestion rejected ${r.rejected.length} messages: ${JSON.stringify(r.rejected.slice(0, 3))}`);
  report.messagesSent += batch.length;
}

async function refreshIds(api: DemoApi, ids: Map<string, string>) {
  for (const a of await api.list('/v1/accounts')) if (a.external_id) ids.set(a.external_id, a.id);
}

function chunks(items: SegmentMessage[]): SegmentMessage[][] {
  const out: SegmentMessage[][] = [];
  let current: SegmentMessage[] = [];
  let bytes = 0;
  for (const m of items) {
    const size = Buffer.byteLength(JSON.stringify(m)) + 1;
    if (current.length > 0 && bytes + size > BATCH_BYTES) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(m);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}
