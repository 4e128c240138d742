import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../context.ts';
import type { JobRunner } from '../../jobs/runner.ts';
import { advanceTestClock } from '../../jobs/test-clock.ts';
import { addDuration, parseDuration, parseInstant } from '../../kernel/dates.ts';
import { AppError } from '../../kernel/errors.ts';
import { getWorkspace, recordAudit } from '../../modules/workspaces/index.ts';
import { ctxOf } from '../auth.ts';
import { errorResponses, iso, Timestamp } from '../schemas.ts';

const TestClockSchema = z
  .object({
    object: z.literal('test_clock'),
    frozen_time: Timestamp,
    status: z.enum(['ready', 'advancing']),
  })
  .meta({ id: 'TestClock' });

const MAX_ADVANCE_YEARS = 10;

export function testClockRoutes(app: FastifyInstance, deps: Deps, runner: JobRunner) {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get('/v1/test_clock', { schema: { tags: ['Test clock'], summary: "The sandbox workspace's test clock", response: { 200: TestClockSchema, ...errorResponses } } }, async (request) => {
    const ws = await getWorkspace(deps, request.auth!.workspace.id);
    if (!ws.sandbox || !ws.testClockTime) throw new AppError({ code: 'test_clock_unavailable' });
    return { object: 'test_clock' as const, frozen_time: iso(ws.testClockTime)!, status: ws.testClockStatus };
  });

  r.post(
    '/v1/test_clock/advance',
    {
      schema: {
        tags: ['Test clock'],
        summary: 'Advance the test clock, running everything that falls due on the way, in order',
        body: z
          .object({
            to: z.string().optional().describe('ISO 8601 instant to move to'),
            by: z.string().optional().describe('ISO 8601 duration to move by, e.g. P1M, P13M, P1DT12H'),
          })
          .refine((b) => (b.to === undefined) !== (b.by === undefined), { message: "Give exactly one of 'to' and 'by'" }),
        response: { 200: TestClockSchema.extend({ previous_time: Timestamp, jobs_run: z.number().int() }), ...errorResponses },
      },
    },
    async (request) => {
      const ctx = ctxOf(deps, request);
      const ws = request.auth!.workspace;
      if (!ws.sandbox) throw new AppError({ code: 'test_clock_unavailable' });
      let target: Date;
      if (request.body.to !== undefined) {
        const t = parseInstant(request.body.to);
        if (!t) throw new AppError({ code: 'parameter_invalid', message: `'to' must be an ISO 8601 instant such as 2027-01-31T00:00:00Z; got '${request.body.to}'.`, param: 'to' });
        target = t;
      } else {
        const d = parseDuration(request.body.by!);
        if (!d) throw new AppError({ code: 'parameter_invalid', message: `'by' must be an ISO 8601 duration such as P1M or P1DT12H; got '${request.body.by}'.`, param: 'by' });
        target = addDuration(ctx.asOf, d);
      }
      const limit = new Date(ctx.asOf);
      limit.setUTCFullYear(limit.getUTCFullYear() + MAX_ADVANCE_YEARS);
      if (target > limit) throw new AppError({ code: 'parameter_invalid', message: `A single advance moves at most ${MAX_ADVANCE_YEARS} years.`, param: request.body.to ? 'to' : 'by' });
      const result = await advanceTestClock(deps, runner, ws.id, target);
      await deps.database.db.transaction((tx) =>
        recordAudit(tx, { ...ctx, asOf: target }, {
          action: 'test_clock.advanced',
          entityType: 'test_clock',
          entityId: ws.id,
          before: { frozen_time: iso(result.from) },
          after: { frozen_time: iso(result.to), jobs_run: result.jobsRun },
        }),
      );
      return { object: 'test_clock' as const, frozen_time: iso(result.to)!, status: 'ready' as const, previous_time: iso(result.from)!, jobs_run: result.jobsRun };
    },
  );
}
