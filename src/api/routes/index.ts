import type { FastifyInstance } from 'fastify';
import type { Deps } from '../../context.ts';
import type { JobRunner } from '../../jobs/runner.ts';
import { serviceRoutes } from './service.ts';
import { testClockRoutes } from './test-clock.ts';
import { workspaceRoutes } from './workspace.ts';

/** Every routes file, registered in this order. One file per module: add yours here. */
export const routeFiles: Array<(app: FastifyInstance, deps: Deps, runner: JobRunner) => void> = [serviceRoutes, workspaceRoutes, testClockRoutes];
