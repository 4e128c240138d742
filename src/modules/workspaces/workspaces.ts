/** Workspaces (tenants), their API keys and the audit log. */
export type Scope = 'read' | 'write' | 'admin';
export const SCOPES: readonly Scope[] = ['read', 'write', 'admin'];
export type KeyKind = 'secret' | 'write';

/** admin ⊇ write ⊇ read. */
export function scopeAllows(granted: readonly string[], needed: Scope): boolean {
  const rank: Record<Scope, number> = { read: 0, write: 1, admin: 2 };
  return granted.some((g) => g in rank && rank[g as Scope] >= rank[needed]);
}

export interface Workspace {
  id: string;
  name: string;
  sandbox: boolean;
  testClockTime: Date | null;
  testClockStatus: 'ready' | 'advancing';
  settings: Record<string, unknown>;
  createdAt: Date;
}

export interface ApiKey {
  id: string;
  workspaceId: string;
  kind: KeyKind;
  name: string;
  scopes: Scope[];
  redacted: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

export interface AuditEntry {
  id: string;
  actorType: string;
  actorId: string | null;
  action: string;
  entityType: string;
  entityId: string;
  before: unknown;
  after: unknown;
  requestId: string | null;
  createdAt: Date;
}

/** The clock a command in this workspace reads: its test clock in a sandbox, the wall clock otherwise. */
export function workspaceNow(ws: Pick<Workspace, 'sandbox' | 'testClockTime'>, wall: Date): Date {
  return ws.sandbox && ws.testClockTime ? new Date(ws.testClockTime) : wall;
}
