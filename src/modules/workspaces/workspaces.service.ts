import { hash } from 'node:crypto';
import { and, eq, isNull } from 'drizzle-orm';
import type { Ctx, Db, Deps } from '../../context.ts';
import { apiKeys, auditLog, workspaces } from '../../db/schema/index.ts';
import { enqueue } from '../../jobs/queue.ts';
import { AppError, notFound } from '../../kernel/errors.ts';
import { newId, newSecret } from '../../kernel/ids.ts';
import * as repo from './workspaces.repo.ts';
import { workspaceNow, type ApiKey, type KeyKind, type Scope, type Workspace } from './workspaces.ts';

/**
 * The stored form of a key. Every authenticated request hashes its key, so this is the one-shot
 * `crypto.hash`: `createHash` makes a native Hash object per call, and at thousands of checks a
 * second their weak handles were most of a young-generation GC pause (`bench entitlements`:
 * ~4,000 dying per scavenge, 1.4–2.7 ms of each ~8 ms pause; ~250 and 0.2 ms with this).
 */
export function hashKey(raw: string): string {
  return hash('sha256', raw, 'hex');
}

function redact(raw: string): string {
  return `${raw.slice(0, 7)}…${raw.slice(-4)}`;
}

export interface AuditInput {
  action: string;
  entityType: string;
  entityId: string;
  before?: unknown;
  after?: unknown;
  /**
   * The command the entry belongs to, when one statement writes the entries of several
   * (ingestion applies the identity calls of concurrent requests together): its actor, request
   * and instant. Default: the `ctx` the entries are recorded with.
   */
  of?: Pick<Ctx, 'actor' | 'requestId' | 'asOf'>;
}

/** One audit row per mutation, written in the mutation's own transaction. */
export async function recordAudit(tx: Db, ctx: Ctx, entry: AuditInput): Promise<void> {
  await recordAudits(tx, ctx, [entry]);
}

/** Several audit rows in one statement (in this order), for commands that write many entities. */
export async function recordAudits(tx: Db, ctx: Ctx, entries: readonly AuditInput[]): Promise<void> {
  if (!entries.length) return;
  await tx.insert(auditLog).values(
    entries.map(({ of = ctx, ...entry }) => ({
      id: newId('aud'),
      workspaceId: ctx.workspaceId,
      actorType: of.actor.type,
      actorId: of.actor.id ?? null,
      action: entry.action,
      entityType: entry.entityType,
      entityId: entry.entityId,
      before: (entry.before ?? null) as never,
      after: (entry.after ?? null) as never,
      requestId: of.requestId ?? null,
      createdAt: of.asOf,
    })),
  );
}

export interface CreatedWorkspace {
  workspace: Workspace;
  secretKey: string;
  writeKey: string;
}

/**
 * Creates a workspace with an admin secret key and a write key (shown once, stored hashed),
 * and schedules its recurring jobs. A sandbox workspace gets a test clock frozen at
 * `clockStart` (default: now).
 */
export async function createWorkspace(
  deps: Deps,
  input: { name: string; sandbox?: boolean; clockStart?: Date; actor?: Ctx['actor'] },
): Promise<CreatedWorkspace> {
  const wall = deps.clock.now();
  const sandbox = input.sandbox ?? false;
  const clock = sandbox ? (input.clockStart ?? wall) : null;
  const asOf = clock ?? wall;
  const id = newId('ws');
  const secretKey = newSecret('sk');
  const writeKey = newSecret('wk');
  return deps.database.db.transaction(async (tx) => {
    const [ws] = await tx
      .insert(workspaces)
      .values({ id, name: input.name, sandbox, testClockTime: clock, createdAt: wall })
      .returning();
    const ctx: Ctx = { deps, workspaceId: id, asOf, actor: input.actor ?? { type: 'cli' } };
    await insertKey(tx, ctx, { kind: 'secret', name: 'Default secret key', scopes: ['admin'], raw: secretKey });
    await insertKey(tx, ctx, { kind: 'write', name: 'Default write key', scopes: [], raw: writeKey });
    await recordAudit(tx, ctx, { action: 'workspace.created', entityType: 'workspace', entityId: id, after: { name: input.name, sandbox } });
    await scheduleRecurring(tx, deps, id, asOf);
    return { workspace: ws as Workspace, secretKey, writeKey };
  });
}

/** Makes sure each registered recurring job has its next occurrence queued (idempotent). */
export async function scheduleRecurring(tx: Db, deps: Deps, workspaceId: string, after: Date): Promise<void> {
  for (const s of deps.registry.recurring) {
    const at = s.next(after);
    await enqueue(tx, { workspaceId, kind: s.kind, runAt: at, dedupeKey: `recurring:${s.kind}:${at.toISOString()}`, asOf: after });
  }
}

async function insertKey(tx: Db, ctx: Ctx, k: { kind: KeyKind; name: string; scopes: Scope[]; raw: string }): Promise<ApiKey> {
  const [row] = await tx
    .insert(apiKeys)
    .values({
      id: newId('key'),
      workspaceId: ctx.workspaceId,
      kind: k.kind,
      name: k.name,
      scopes: k.scopes,
      keyHash: hashKey(k.raw),
      redacted: redact(k.raw),
      createdAt: ctx.asOf,
    })
    .returning();
  const key = row as ApiKey;
  await recordAudit(tx, ctx, { action: 'api_key.created', entityType: 'api_key', entityId: key.id, after: publicKey(key) });
  return key;
}

export function publicKey(k: ApiKey) {
  return { id: k.id, kind: k.kind, name: k.name, scopes: k.scopes, redacted: k.redacted, created_at: k.createdAt, revoked_at: k.revokedAt };
}

export async function createApiKey(
  ctx: Ctx,
  input: { kind: KeyKind; name: string; scopes: Scope[] },
): Promise<{ key: ApiKey; secret: string }> {
  const raw = newSecret(input.kind === 'secret' ? 'sk' : 'wk');
  const key = await ctx.deps.database.db.transaction((tx) =>
    insertKey(tx, ctx, { kind: input.kind, name: input.name, scopes: input.kind === 'write' ? [] : input.scopes, raw }),
  );
  return { key, secret: raw };
}

export async function revokeApiKey(ctx: Ctx, id: string): Promise<ApiKey> {
  const revoked = await ctx.deps.database.db.transaction(async (tx) => {
    const before = await repo.findKey(tx, ctx.workspaceId, id);
    if (!before) throw notFound('api key', id);
    if (before.revokedAt) return before;
    const [row] = await tx
      .update(apiKeys)
      .set({ revokedAt: ctx.asOf })
      .where(and(eq(apiKeys.workspaceId, ctx.workspaceId), eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))
      .returning();
    const after = row as ApiKey;
    await recordAudit(tx, ctx, { action: 'api_key.revoked', entityType: 'api_key', entityId: id, before: publicKey(before), after: publicKey(after) });
    return after;
  });
  // Committed: this process stops accepting the key at once (other processes within AUTH_CACHE_MS).
  forgetAuthenticatedKey(ctx.deps, id);
  return revoked;
}

export interface Authenticated {
  key: ApiKey;
  workspace: Workspace;
  /** The workspace's current instant (its test clock in a sandbox). */
  asOf: Date;
}

/**
 * Authenticated keys, cached in this process for a few seconds (every API request authenticates,
 * and the lookup was the largest cost of a cached entitlement check). Only keys of live
 * workspaces: a sandbox's instant is its test clock, which must be read on every request.
 * Revoking a key through `revokeApiKey` drops it here at once; a key revoked by ANOTHER process
 * (several API processes on one PostgreSQL) is still accepted here for at most AUTH_CACHE_MS
 * (TANDEM_AUTH_CACHE_MS, default 5000; 0 disables the cache). Unknown keys are never cached.
 * Freshness is measured on the process's monotonic clock, not the (possibly manual) wall clock,
 * from when the lookup started. Concurrent lookups of one key share one read (single flight), and
 * a key asked for after 60 % of AUTH_CACHE_MS is looked up again in the background while the
 * cached answer still serves: at thousands of requests a second, an expiry would otherwise send
 * every request of the next few milliseconds to the database, and make them all wait for it.
 */
const AUTH_CACHE_MS = Number(process.env.TANDEM_AUTH_CACHE_MS ?? 5000);
const AUTH_CACHE_MAX = 10_000;
interface AuthCache {
  entries: Map<string, { found: { key: ApiKey; workspace: Workspace }; at: number }>;
  /** Bumped by every revocation: a lookup that started before one is not cached. */
  generation: number;
  /** Lookups in flight, by hash (emptied by a revocation: later requests do not join one that started before it). */
  reads: Map<string, Promise<{ key: ApiKey; workspace: Workspace } | undefined>>;
}
const authCaches = new WeakMap<Deps['database'], AuthCache>();

function authCacheOf(deps: Deps): AuthCache {
  let c = authCaches.get(deps.database);
  if (!c) authCaches.set(deps.database, (c = { entries: new Map(), generation: 0, reads: new Map() }));
  return c;
}

function forgetAuthenticatedKey(deps: Deps, keyId: string): void {
  const c = authCacheOf(deps);
  c.generation++;
  c.reads.clear();
  for (const [hash, e] of c.entries) if (e.found.key.id === keyId) c.entries.delete(hash);
}

const KEY_FORMAT = /^(sk|wk)_[0-9A-Za-z]{8,}$/;

/** Looks up a raw key (sk_… or wk_…). Unknown and revoked keys are both `api_key_invalid`. */
export async function authenticate(deps: Deps, raw: string): Promise<Authenticated> {
  if (!KEY_FORMAT.test(raw)) throw new AppError({ code: 'api_key_invalid' });
  const hash = hashKey(raw);
  if (AUTH_CACHE_MS <= 0) {
    const found = await repo.findKeyByHash(deps.database.db, hash);
    if (!found) throw new AppError({ code: 'api_key_invalid' });
    return authenticated(deps, found);
  }
  const cache = authCacheOf(deps);
  const cached = fromCache(deps, cache, hash);
  if (cached) return cached;
  // Only a key known to be a live workspace's joins a read in flight: a sandbox's lookup also
  // reads its test clock, which must not predate the request.
  const found = await ((cache.entries.has(hash) && cache.reads.get(hash)) || lookupKey(deps, cache, hash));
  if (!found) throw new AppError({ code: 'api_key_invalid' });
  return authenticated(deps, found);
}

/**
 * `authenticate`'s answer when the key's lookup is cached and fresh, synchronously (no promise:
 * the entitlement check's hot path answers in the turn that parsed the request); undefined when
 * it has to read the database (a malformed key too: `authenticate` then says why).
 */
export function authenticateCached(deps: Deps, raw: string): Authenticated | undefined {
  if (AUTH_CACHE_MS <= 0 || !KEY_FORMAT.test(raw)) return undefined;
  return fromCache(deps, authCacheOf(deps), hashKey(raw));
}

/** A fresh cache entry's answer, with the refresh-ahead of an entry past 60 % of its life; else undefined. */
function fromCache(deps: Deps, cache: AuthCache, hash: string): Authenticated | undefined {
  const hit = cache.entries.get(hash);
  if (!hit) return undefined;
  const age = performance.now() - hit.at;
  if (age >= AUTH_CACHE_MS) return undefined;
  if (age >= AUTH_CACHE_MS * 0.6 && !cache.reads.has(hash)) lookupKey(deps, cache, hash).catch(() => undefined);
  return authenticated(deps, hit.found);
}

const authenticated = (deps: Deps, found: { key: ApiKey; workspace: Workspace }): Authenticated => ({
  key: found.key,
  workspace: found.workspace,
  asOf: workspaceNow(found.workspace, deps.clock.now()),
});

/** Reads a key by hash into the cache (a live workspace's key, unless a revocation happened meanwhile); an unknown or revoked key leaves it. */
function lookupKey(deps: Deps, cache: AuthCache, hash: string): Promise<{ key: ApiKey; workspace: Workspace } | undefined> {
  const generation = cache.generation;
  const at = performance.now();
  const read = repo.findKeyByHash(deps.database.db, hash).then(
    (found) => {
      if (cache.reads.get(hash) === read) cache.reads.delete(hash);
      if (!found) cache.entries.delete(hash);
      else if (!found.workspace.sandbox && cache.generation === generation) {
        if (cache.entries.size >= AUTH_CACHE_MAX) cache.entries.clear();
        cache.entries.set(hash, { found, at });
      }
      return found;
    },
    (e: unknown) => {
      if (cache.reads.get(hash) === read) cache.reads.delete(hash);
      throw e;
    },
  );
  cache.reads.set(hash, read);
  return read;
}

export async function getWorkspace(deps: Deps, id: string): Promise<Workspace> {
  const ws = await repo.findWorkspace(deps.database.db, id);
  if (!ws) throw notFound('workspace', id);
  return ws;
}

export const listApiKeys = (ctx: Ctx, page: { limit: number; startingAfter?: string }) => repo.listKeys(ctx.deps.database.db, ctx.workspaceId, page);
export const listAuditLog = (ctx: Ctx, page: { limit: number; startingAfter?: string; entityId?: string }) =>
  repo.listAudit(ctx.deps.database.db, ctx.workspaceId, page);
