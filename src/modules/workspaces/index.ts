export * from './workspaces.ts';
export {
  authenticate,
  authenticateCached,
  createApiKey,
  createWorkspace,
  getWorkspace,
  hashKey,
  listApiKeys,
  listAuditLog,
  publicKey,
  recordAudit,
  recordAudits,
  revokeApiKey,
  scheduleRecurring,
  type AuditInput,
  type Authenticated,
  type CreatedWorkspace,
} from './workspaces.service.ts';
