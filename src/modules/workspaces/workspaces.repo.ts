import { and, desc, eq, isNull, lt } from 'drizzle-orm';
import type { Db } from '../../context.ts';
import { apiKeys, auditLog, workspaces } from '../../db/schema/index.ts';
import type { ApiKey, AuditEntry, Workspace } from './workspaces.ts';

export async function findWorkspace(db: Db, id: string): Promise<Workspace | undefined> {
  const [row] = await db.select().from(workspaces).where(eq(workspaces.id, id)).limit(1);
  return row as Workspace | undefined;
}

export async function findKeyByHash(db: Db, keyHash: string): Promise<{ key: ApiKey; workspace: Workspace } | undefined> {
  const [row] = await db
    .select({ key: apiKeys, workspace: workspaces })
    .from(apiKeys)
    .innerJoin(workspaces, eq(workspaces.id, apiKeys.workspaceId))
    .where(and(eq(apiKeys.keyHash, keyHash), isNull(apiKeys.revokedAt)))
    .limit(1);
  return row as { key: ApiKey; workspace: Workspace } | undefined;
}

export async function listKeys(db: Db, workspaceId: string, page: { limit: number; startingAfter?: string }): Promise<ApiKey[]> {
  const where = page.startingAfter
    ? and(eq(apiKeys.workspaceId, workspaceId), lt(apiKeys.id, page.startingAfter))
    : eq(apiKeys.workspaceId, workspaceId);
  return (await db.select().from(apiKeys).where(where).orderBy(desc(apiKeys.id)).limit(page.limit + 1)) as ApiKey[];
}

export async function findKey(db: Db, workspaceId: string, id: string): Promise<ApiKey | undefined> {
  const [row] = await db.select().from(apiKeys).where(and(eq(apiKeys.workspaceId, workspaceId), eq(apiKeys.id, id))).limit(1);
  return row as ApiKey | undefined;
}

export async function listAudit(
  db: Db,
  workspaceId: string,
  page: { limit: number; startingAfter?: string; entityId?: string },
): Promise<AuditEntry[]> {
  const conds = [eq(auditLog.workspaceId, workspaceId)];
  if (page.startingAfter) conds.push(lt(auditLog.id, page.startingAfter));
  if (page.entityId) conds.push(eq(auditLog.entityId, page.entityId));
  return (await db.select().from(auditLog).where(and(...conds)).orderBy(desc(auditLog.id)).limit(page.limit + 1)) as AuditEntry[];
}
