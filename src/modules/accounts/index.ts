export * from './accounts.ts';
export {
  createAccount,
  createContact,
  getAccount,
  getContact,
  listAccounts,
  listContacts,
  listDuplicates,
  listUnmatchedUsers,
  resolveAccountId,
  updateAccount,
  type AccountInput,
  type ContactInput,
  type UnmatchedUser,
} from './accounts.service.ts';
export { mergeAccounts } from './merge.service.ts';
export { mergedInto } from './accounts.repo.ts';
export { accountTimeline } from './timeline.service.ts';
export { identityResolver } from './identity.service.ts';
export { candidateDomains, emailDomain, isFreeMailDomain, normalizeDomain } from './compute/domains.ts';
export { hintsOf, resolveAccount, type IdentityHints, type Lookups, type ResolvedVia } from './compute/resolve.ts';
