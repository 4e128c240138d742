/**
 * Followers of the entitlement cache (entitlements.service.ts): something else that holds answers
 * built from it — the check process, which serves checks from its own copy (api/check-process/) —
 * and must follow its changes: accounts whose usage ingestion just re-read (their answers are
 * rebuilt before the ingestion answers), and workspaces dropped (`null`: all of them; dropped
 * before the write answers).
 */
export interface EntitlementFollower {
  accountsRefreshed(workspaceId: string, accountIds: string[]): Promise<void>;
  dropped(workspaceId: string | null): Promise<void>;
}

const followers = new Set<EntitlementFollower>();
const DONE = Promise.resolve();

/** Registers a follower; returns its removal. */
export function followEntitlements(f: EntitlementFollower): () => void {
  followers.add(f);
  return () => followers.delete(f);
}

/** Ingestion re-read these accounts' usage: resolves once every follower has rebuilt its answers about them. */
export function followersRefresh(workspaceId: string, accountIds: string[]): Promise<void> {
  if (!followers.size) return DONE;
  return Promise.all([...followers].map((f) => f.accountsRefreshed(workspaceId, accountIds))).then(() => undefined);
}

/** The workspace's entries (null: all) were dropped: resolves once every follower has dropped its own. */
export function followersDrop(workspaceId: string | null): Promise<void> {
  if (!followers.size) return DONE;
  return Promise.all([...followers].map((f) => f.dropped(workspaceId))).then(() => undefined);
}
