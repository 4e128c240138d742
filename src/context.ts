import type { Clock } from './kernel/clock.ts';
import type { Database, Db } from './db/client.ts';
import type { JobRegistry } from './jobs/registry.ts';

/** Minimal structured logger (pino-compatible subset) so modules don't depend on a logging library. */
export interface Logger {
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
  debug(obj: object | string, msg?: string): void;
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {}, debug() {} };

/** The explicit bag of dependencies: no module reaches for a global. */
export interface Deps {
  database: Database;
  /** Wall clock for live workspaces; sandbox workspaces read their test clock from the database. */
  clock: Clock;
  registry: JobRegistry;
  log: Logger;
}

export type Actor = { type: 'api_key'; id: string } | { type: 'system'; id?: string } | { type: 'cli'; id?: string };

/** What every command runs with: whose data, at what instant (read once), on whose behalf. */
export interface Ctx {
  deps: Deps;
  workspaceId: string;
  asOf: Date;
  actor: Actor;
  requestId?: string;
}

export type { Db };
