import type { FastifyInstance } from 'fastify';
import { buildApp } from './api/app.ts';
import { silentLogger, type Deps, type Logger } from './context.ts';
import type { Database } from './db/client.ts';
import { JobRegistry } from './jobs/registry.ts';
import { JobRunner } from './jobs/runner.ts';
import { ensureRecurringJobs, registerSystemJobs, scheduleSystemJobs } from './jobs/system.ts';
import { systemClock, type Clock } from './kernel/clock.ts';
import { moduleRegistrations } from './modules/register.ts';

export interface Tandem {
  deps: Deps;
  runner: JobRunner;
  app: FastifyInstance;
  close(): Promise<void>;
}

/**
 * The composition root: one bag of dependencies, every module's jobs registered, the job runner
 * and the HTTP app. Tests build one per database; `tandem serve` builds one per process.
 */
export async function createTandem(opts: { database: Database; clock?: Clock; log?: Logger; logLevel?: string }): Promise<Tandem> {
  const registry = new JobRegistry();
  const deps: Deps = { database: opts.database, clock: opts.clock ?? systemClock, registry, log: opts.log ?? silentLogger };
  registerSystemJobs(registry);
  for (const register of moduleRegistrations) register(registry);
  const runner = new JobRunner(deps);
  await scheduleSystemJobs(deps);
  await ensureRecurringJobs(deps);
  const app = await buildApp(deps, runner, { logLevel: opts.logLevel });
  return {
    deps,
    runner,
    app,
    async close() {
      await runner.stop();
      await app.close();
    },
  };
}
