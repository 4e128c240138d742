import type { FastifyInstance } from 'fastify';
import type { Deps } from '../../context.ts';
import type { JobRunner } from '../../jobs/runner.ts';
import { serviceRoutes } from './service.ts';
import { testClockRoutes } from './test-clock.ts';
import { workspaceRoutes } from './workspace.ts';
import { catalogRoutes } from './catalog.ts';
import { paymentRoutes } from './payments.ts';
import { billingRoutes } from './billing.ts';
import { ingestRoutes } from './ingest.ts';
import { accountRoutes } from './accounts.ts';
import { checkoutRoutes } from './checkout.ts';
import { quoteRoutes } from './quotes.ts';
import { scoringRoutes } from './scoring.ts';
import { entitlementRoutes } from './entitlements.ts';

/** Every routes file, registered in this order. One file per module: add yours here. */
export const routeFiles: Array<(app: FastifyInstance, deps: Deps, runner: JobRunner) => void> = [serviceRoutes, workspaceRoutes, testClockRoutes];
routeFiles.push(catalogRoutes);
routeFiles.push(paymentRoutes);
routeFiles.push(billingRoutes);
routeFiles.push(ingestRoutes);
routeFiles.push(accountRoutes);
routeFiles.push(scoringRoutes);
routeFiles.push(checkoutRoutes);
routeFiles.push(quoteRoutes);
routeFiles.push(entitlementRoutes);
