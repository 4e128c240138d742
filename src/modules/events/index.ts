export * from './events.ts';
export { correctSkew, normalizeMessage, type MessageProblem, type NormalizeOptions } from './compute/normalize.ts';
export { ingestBatch, ingestSingle } from './events.service.ts';
export { execIn, execOn } from './exec.ts';
export {
  attachUnmatchedEvents,
  findEventInstant,
  insertEvents,
  listAccountEvents,
  listUnmatchedIdentities,
  repointAccountEvents,
  storedMessageIds,
} from './events.repo.ts';
