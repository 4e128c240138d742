import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { openTestDatabase } from '../../src/db/testing.ts';
import { ManualClock } from '../../src/kernel/clock.ts';
import { createWorkspace } from '../../src/modules/workspaces/index.ts';
import { createTandem, type Tandem } from '../../src/tandem.ts';
import type { Database } from '../../src/db/client.ts';

export interface TestWorkspace {
  id: string;
  secretKey: string;
  writeKey: string;
}

export interface Harness {
  tandem: Tandem;
  database: Database;
  /** The wall clock of the whole process; sandbox workspaces have their own test clocks. */
  clock: ManualClock;
  workspace(opts?: { name?: string; sandbox?: boolean; clockStart?: string }): Promise<TestWorkspace>;
  /** In-process HTTP: `api(ws).get('/v1/…')`, `.post(path, body, headers)`. */
  api(ws: TestWorkspace | string | null): ApiClient;
  close(): Promise<void>;
}

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Record<string, unknown>;
  raw: LightMyRequestResponse;
}

export interface ApiClient {
  get<T = any>(path: string, headers?: Record<string, string>): Promise<ApiResponse<T>>;
  post<T = any>(path: string, body?: unknown, headers?: Record<string, string>): Promise<ApiResponse<T>>;
  delete<T = any>(path: string, headers?: Record<string, string>): Promise<ApiResponse<T>>;
}

/** A POST that must answer 200; its body. */
export async function postOk<T = any>(api: ApiClient, path: string, body?: unknown, headers?: Record<string, string>): Promise<T> {
  const r = await api.post<T>(path, body, headers);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

export async function startHarness(opts: { now?: string } = {}): Promise<Harness> {
  const database = await openTestDatabase();
  const clock = new ManualClock(opts.now ?? '2026-01-15T12:00:00Z');
  const tandem = await createTandem({ database, clock });
  await tandem.app.ready();
  const api = (ws: TestWorkspace | string | null): ApiClient => {
    const key = ws === null ? undefined : typeof ws === 'string' ? ws : ws.secretKey;
    const call = async (method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown, headers: Record<string, string> = {}) => {
      const res = await tandem.app.inject({
        method,
        url,
        headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
        payload: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      let parsed: unknown = res.body;
      try {
        parsed = JSON.parse(res.body);
      } catch {
        /* not JSON */
      }
      return { status: res.statusCode, body: parsed as any, headers: res.headers, raw: res };
    };
    return {
      get: (p, h) => call('GET', p, undefined, h),
      post: (p, b, h) => call('POST', p, b ?? {}, h),
      delete: (p, h) => call('DELETE', p, undefined, h),
    };
  };
  return {
    tandem,
    database,
    clock,
    api,
    async workspace(o = {}) {
      const c = await createWorkspace(tandem.deps, {
        name: o.name ?? 'Test workspace',
        sandbox: o.sandbox ?? true,
        clockStart: o.clockStart ? new Date(o.clockStart) : undefined,
      });
      return { id: c.workspace.id, secretKey: c.secretKey, writeKey: c.writeKey };
    },
    async close() {
      await tandem.close();
      await database.close();
    },
  };
}
