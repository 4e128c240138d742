import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { insertEvents, insertNewEvents } from '../../src/modules/events/events.repo.ts';
import { execOn, type NormalizedMessage } from '../../src/modules/events/index.ts';
import { startHarness, type Harness } from '../support/harness.ts';

/**
 * The ingest INSERT receives each row's instants as epoch milliseconds (events.repo `fromEpochMs`)
 * and must store exactly those instants — to the millisecond, before 1970 (a sentAt may be: year
 * 0000 with a +14:00 offset is 1 BC) and up to the end of year 9999, on both databases and on both
 * statements (with and without ON CONFLICT).
 */
describe('ingested instants are stored exactly', () => {
  let h: Harness;
  let serial = 0;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  // 0000-01-01T00:00:00+14:00 … 9999-12-31T23:59:59.999-14:00: what parseInstant can give a sentAt.
  const EARLIEST_SENT = Date.UTC(0, 0, 1) - 14 * 3600_000;
  const LATEST_SENT = Date.UTC(9999, 11, 31, 23, 59, 59, 999) + 14 * 3600_000;
  const EDGES = [EARLIEST_SENT, -62_135_596_800_001, -1001, -1000, -999, -1, 0, 1, 999, 1000, 1001, 1_764_473_712_345, Date.UTC(9999, 11, 31, 23, 59, 59, 999), LATEST_SENT];
  const instant = fc.oneof(fc.constantFrom(...EDGES), fc.integer({ min: EARLIEST_SENT, max: LATEST_SENT }));

  const message = (i: number, t: { timestamp: number; sentAt: number | null; receivedAt: number }): NormalizedMessage => ({
    index: i,
    messageId: `inst-${++serial}`,
    type: 'track',
    event: 'Instant',
    userId: 'u1',
    anonymousId: null,
    groupId: null,
    previousId: null,
    timestamp: new Date(t.timestamp),
    sentAt: t.sentAt === null ? null : new Date(t.sentAt),
    receivedAt: new Date(t.receivedAt),
    properties: null,
    traits: null,
    context: null,
  });

  it('to the millisecond, across the whole range, with and without ON CONFLICT', async () => {
    const ws = await h.workspace();
    const exec = execOn(h.database);
    const rowArb = fc.record({ timestamp: fc.integer({ min: 0, max: Date.UTC(9999, 11, 31, 23, 59, 59, 999) }), sentAt: fc.option(instant), receivedAt: instant });
    await fc.assert(
      fc.asyncProperty(fc.array(rowArb, { minLength: 1, maxLength: 20 }), fc.boolean(), async (rows, skipping) => {
        const messages = rows.map((r, i) => message(i, r));
        const input = { workspaceId: ws.id, messages, ids: messages.map((m) => `pev_i${m.messageId}`), accountIds: messages.map(() => null) };
        const inserted = skipping ? await insertEvents(exec, input) : (await insertNewEvents(exec, input)).inserted;
        assert.equal(inserted, rows.length);
        const stored = await exec<{ message_id: string; t: string; s: string | null; r: string }>(
          `SELECT message_id, (extract(epoch FROM timestamp) * 1000)::numeric::text AS t, (extract(epoch FROM sent_at) * 1000)::numeric::text AS s,
                  (extract(epoch FROM received_at) * 1000)::numeric::text AS r
             FROM product_events WHERE workspace_id = $1 AND message_id = ANY($2::text[])`,
          [ws.id, messages.map((m) => m.messageId)],
        );
        const byId = new Map(stored.map((r) => [r.message_id, r]));
        for (const m of messages) {
          const got = byId.get(m.messageId)!;
          // extract(epoch) is numeric here (exact): 1764473712.345000 s → "1764473712345.000000".
          const ms = (v: string | null) => (v === null ? null : Number(v));
          assert.deepEqual(
            { t: ms(got.t), s: ms(got.s), r: ms(got.r) },
            { t: m.timestamp.getTime(), s: m.sentAt?.getTime() ?? null, r: m.receivedAt.getTime() },
            m.messageId,
          );
        }
      }),
      { numRuns: 40 },
    );
  });
});
