import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../context.ts';
import { MIGRATIONS_DIR } from '../../db/client.ts';
import { sendError } from '../errors.ts';

const expectedMigrations = (): number =>
  (JSON.parse(readFileSync(path.join(MIGRATIONS_DIR, 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] }).entries.length;

export function serviceRoutes(app: FastifyInstance, deps: Deps) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get('/healthz', { config: { auth: 'none' }, schema: { tags: ['Service'], summary: 'Liveness', response: { 200: z.object({ status: z.literal('ok') }) } } }, async () => ({
    status: 'ok' as const,
  }));

  const want = expectedMigrations();
  r.get(
    '/readyz',
    {
      config: { auth: 'none' },
      schema: {
        tags: ['Service'],
        summary: 'Readiness: the database answers and every migration is applied',
        response: { 200: z.object({ status: z.literal('ready'), database: z.string(), migrations: z.number() }) },
      },
    },
    async (request, reply) => {
      try {
        const rows = await deps.database.query<{ n: number }>('SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations');
        const n = Number(rows[0]?.n ?? 0);
        if (n < want) return sendError(reply, request, 'service_unavailable', `Database is migrated to ${n} of ${want} migrations.`);
        return { status: 'ready' as const, database: deps.database.kind, migrations: n };
      } catch (e) {
        return sendError(reply, request, 'service_unavailable', `Database unreachable: ${(e as Error).message}`);
      }
    },
  );

  app.get('/openapi.json', { config: { auth: 'none' }, schema: { hide: true } }, async () => app.swagger());
}
