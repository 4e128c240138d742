/** The accounts and contacts API: create, read, update, list, duplicates, unmatched users. */
import type { Ctx, Db } from '../../context.ts';
import { publish } from '../../jobs/outbox.ts';
import { AppError, notFound } from '../../kernel/errors.ts';
import { newId } from '../../kernel/ids.ts';
import { execIn, execOn, listUnmatchedIdentities, type Exec, type UnmatchedIdentity } from '../events/index.ts';
import { recordAudit } from '../workspaces/index.ts';
import * as repo from './accounts.repo.ts';
import { accountSnapshot, contactSnapshot, type Account, type AccountFields, type Contact, type DuplicateGroup } from './accounts.ts';
import { emailDomain, isFreeMailDomain, normalizeDomain } from './compute/domains.ts';
import { activity, addAccountDomain, attributeLink, contactCreated, createAccounts, linkContact, lockIdentity, type TxCtx } from './identity.links.ts';

const reader = (ctx: Ctx): Exec => execOn(ctx.deps.database);

/** Any account id, merged or not, → the live account it resolves to (merges keep old ids working). For other modules: call it before keying anything on an account id. */
export async function resolveAccountId(db: Db, workspaceId: string, id: string): Promise<string | null> {
  return repo.resolveAccountId(execIn(db), workspaceId, id);
}

async function mustResolve(exec: Exec, ctx: Ctx, id: string, param = 'id'): Promise<string> {
  const live = await repo.resolveAccountId(exec, ctx.workspaceId, id);
  if (!live) throw notFound('account', id, param);
  return live;
}

function cleanDomains(input: string[], param = 'domains'): string[] {
  const out: string[] = [];
  for (const raw of input) {
    const d = normalizeDomain(raw);
    if (!d) throw new AppError({ code: 'parameter_invalid', message: `'${raw}' is not a domain name such as acme.com.`, param });
    if (isFreeMailDomain(d)) throw new AppError({ code: 'parameter_invalid', message: `${d} is a free email provider; it cannot identify an account.`, param });
    if (!out.includes(d)) out.push(d);
  }
  return out;
}

async function assertDomainsFree(t: TxCtx, accountId: string | null, domains: string[]): Promise<void> {
  const owners = await repo.domainOwners(t.exec, t.ctx.workspaceId, domains);
  for (const d of domains) {
    const owner = owners.get(d);
    if (owner && owner !== accountId) throw new AppError({ code: 'domain_taken', message: `The domain ${d} already belongs to account ${owner}.`, param: 'domains' });
  }
}

export interface AccountInput extends AccountFields {
  externalId?: string | null;
  domains?: string[];
}

export async function createAccount(ctx: Ctx, input: AccountInput): Promise<Account> {
  const domains = cleanDomains(input.domains ?? []);
  return ctx.deps.database.db.transaction(async (tx) => {
    const t: TxCtx = { tx, exec: execIn(tx), ctx };
    await lockIdentity(t);
    await assertDomainsFree(t, null, domains);
    const { domains: _d, externalId, ...fields } = input;
    const [id] = await createAccounts(t, [{ ...fields, externalId: externalId ?? null, domains, origin: 'api', occurredAt: ctx.asOf }]);
    if (!id) {
      const holder = (await repo.accountsByExternalId(t.exec, ctx.workspaceId, [externalId!])).get(externalId!);
      throw new AppError({ code: 'external_id_taken', message: `Account ${holder} already has the external id '${externalId}'.`, param: 'external_id' });
    }
    const account = (await repo.loadAccount(t.exec, ctx.workspaceId, id))!;
    const lost = domains.find((d) => !account.domains.includes(d)); // claimed concurrently by another account
    if (lost) throw new AppError({ code: 'domain_taken', message: `The domain ${lost} already belongs to another account.`, param: 'domains' });
    return account;
  });
}

/** An account by id; a merged account's id answers with the account it was merged into. */
export async function getAccount(ctx: Ctx, id: string): Promise<Account> {
  const exec = reader(ctx);
  return (await repo.loadAccount(exec, ctx.workspaceId, await mustResolve(exec, ctx, id)))!;
}

/** Updates firmographics; `domains` replaces the account's claimed domains. */
export async function updateAccount(ctx: Ctx, id: string, input: AccountInput): Promise<Account> {
  const domains = input.domains ? cleanDomains(input.domains) : undefined;
  return ctx.deps.database.db.transaction(async (tx) => {
    const t: TxCtx = { tx, exec: execIn(tx), ctx };
    await lockIdentity(t);
    const live = await mustResolve(t.exec, ctx, id);
    await repo.accountRow(t.exec, ctx.workspaceId, live, true);
    const before = (await repo.loadAccount(t.exec, ctx.workspaceId, live))!;
    const { domains: _d, ...fields } = input;
    if (fields.externalId && fields.externalId !== before.externalId) {
      const holder = (await repo.accountsByExternalId(t.exec, ctx.workspaceId, [fields.externalId])).get(fields.externalId);
      if (holder) throw new AppError({ code: 'external_id_taken', message: `Account ${holder} already has the external id '${fields.externalId}'.`, param: 'external_id' });
    }
    await repo.updateAccount(t.exec, ctx.workspaceId, live, fields, ctx.asOf);
    if (domains) {
      await assertDomainsFree(t, live, domains);
      const removed = before.domains.filter((d) => !domains.includes(d));
      // An unclaimed row this account recorded (a duplicate found by ingestion) is replaced by a claimed one.
      await repo.removeDomains(t.exec, ctx.workspaceId, live, [...removed, ...domains.filter((d) => !before.domains.includes(d))]);
      for (const d of removed) {
        await activity(t, { accountId: live, type: 'identity', kind: 'domain_removed', summary: `Domain ${d} removed`, data: { domain: d, source: 'api' }, occurredAt: ctx.asOf });
      }
      for (const domain of domains.filter((d) => !before.domains.includes(d))) {
        const r = await addAccountDomain(t, { accountId: live, domain, source: 'api', occurredAt: ctx.asOf });
        if (!r.claimed) throw new AppError({ code: 'domain_taken', message: `The domain ${domain} already belongs to another account.`, param: 'domains' });
      }
    }
    const after = (await repo.loadAccount(t.exec, ctx.workspaceId, live))!;
    await recordAudit(tx, ctx, { action: 'account.updated', entityType: 'account', entityId: live, before: accountSnapshot(before), after: accountSnapshot(after) });
    await publish(tx, ctx, 'account.updated', { account: accountSnapshot(after), previous: accountSnapshot(before) });
    return after;
  });
}

export async function listAccounts(ctx: Ctx, q: { limit: number; startingAfter?: string; status?: 'active' | 'merged'; domain?: string; externalId?: string }): Promise<Account[]> {
  const domain = q.domain ? (normalizeDomain(q.domain) ?? q.domain) : undefined;
  return repo.listAccountRows(reader(ctx), ctx.workspaceId, { ...q, domain });
}

/**
 * Live accounts sharing a corporate domain — through their domains (a group call's website
 * already claimed by another account) or their contacts' email domains: the consolidation list.
 * Ordered by domain; `startingAfter` is a domain.
 */
export async function listDuplicates(ctx: Ctx, q: { limit: number; startingAfter?: string }): Promise<DuplicateGroup[]> {
  const rows = await reader(ctx)<{ domain: string; account_ids: string[] }>(
    `SELECT domain, array_agg(DISTINCT account_id ORDER BY account_id) AS account_ids FROM (
       SELECT domain, account_id FROM account_domains WHERE workspace_id = $1
       UNION ALL
       SELECT email_domain, account_id FROM contacts WHERE workspace_id = $1 AND account_id IS NOT NULL AND email_domain IS NOT NULL AND NOT (email_domain = ANY($4::text[]))
     ) s
     WHERE $3::text IS NULL OR domain > $3::text
     GROUP BY domain HAVING count(DISTINCT account_id) > 1 ORDER BY domain LIMIT $2`,
    [ctx.workspaceId, q.limit + 1, q.startingAfter ?? null, await freeMailAmongContacts(ctx)],
  );
  return rows.map((r) => ({ domain: r.domain, accountIds: r.account_ids }));
}

/** The contacts' email domains that are free mail (excluded from duplicates). */
async function freeMailAmongContacts(ctx: Ctx): Promise<string[]> {
  const rows = await reader(ctx)<{ d: string }>('SELECT DISTINCT email_domain AS d FROM contacts WHERE workspace_id = $1 AND email_domain IS NOT NULL', [ctx.workspaceId]);
  return rows.map((r) => r.d).filter(isFreeMailDomain);
}

export interface UnmatchedUser extends UnmatchedIdentity {
  contactId: string | null;
  email: string | null;
}

/** Users whose events matched no account yet (attached automatically once identified or grouped). */
export async function listUnmatchedUsers(ctx: Ctx, q: { limit: number; startingAfter?: string }): Promise<UnmatchedUser[]> {
  const exec = reader(ctx);
  const found = await listUnmatchedIdentities(exec, { workspaceId: ctx.workspaceId, limit: q.limit + 1, startingAfter: q.startingAfter });
  const userIds = found.map((u) => u.userId).filter((u): u is string => !!u);
  const contacts = await repo.contactsByUserId(exec, ctx.workspaceId, userIds);
  const byUser = new Map(contacts.map((c) => [c.user_id, c]));
  return found.map((u) => ({ ...u, contactId: (u.userId && byUser.get(u.userId)?.id) || null, email: (u.userId && byUser.get(u.userId)?.email) || null }));
}

// ── contacts ────────────────────────────────────────────────────────────────

export interface ContactInput {
  userId?: string | null;
  email?: string | null;
  name?: string | null;
  traits?: Record<string, unknown>;
  /** An account (acct_…) to link the contact to; otherwise its email domain may link it. */
  account?: string | null;
}

export async function createContact(ctx: Ctx, input: ContactInput): Promise<Contact> {
  const email = input.email ? input.email.trim().toLowerCase() : null;
  if (email && !emailDomain(email)) throw new AppError({ code: 'parameter_invalid', message: `'${input.email}' is not an email address.`, param: 'email' });
  return ctx.deps.database.db.transaction(async (tx) => {
    const t: TxCtx = { tx, exec: execIn(tx), ctx };
    await lockIdentity(t);
    const accountId = input.account ? await mustResolve(t.exec, ctx, input.account, 'account') : null;
    const values = {
      userId: input.userId ?? null,
      email,
      emailDomain: email ? emailDomain(email) : null,
      name: input.name ?? null,
      companyExternalId: null,
      traits: input.traits ?? {},
      traitsAt: ctx.asOf,
    };
    const row = await repo.insertContact(t.exec, ctx.workspaceId, newId('cont'), values, ctx.asOf);
    if (!row) {
      const existing = await repo.findContactRow(t.exec, ctx.workspaceId, { userId: input.userId! });
      throw new AppError({ code: 'state_conflict', message: `Contact ${existing?.id} already has the user id '${input.userId}'.`, param: 'user_id' });
    }
    let c = (await repo.loadContact(t.exec, ctx.workspaceId, row.id as string))!;
    await contactCreated(t, c);
    const link = accountId ? { accountId, source: 'api' as const } : await attributeLink(t, c);
    if (link) await linkContact(t, c, { ...link, at: ctx.asOf });
    c = (await repo.loadContact(t.exec, ctx.workspaceId, c.id))!;
    return c;
  });
}

export async function getContact(ctx: Ctx, id: string): Promise<Contact> {
  const c = await repo.loadContact(reader(ctx), ctx.workspaceId, id);
  if (!c) throw notFound('contact', id);
  return c;
}

export async function listContacts(ctx: Ctx, q: { limit: number; startingAfter?: string; account?: string; email?: string; userId?: string }): Promise<Contact[]> {
  const exec = reader(ctx);
  const accountId = q.account ? await mustResolve(exec, ctx, q.account, 'account') : undefined;
  return repo.listContactRows(exec, ctx.workspaceId, { limit: q.limit, startingAfter: q.startingAfter, accountId, email: q.email, userId: q.userId });
}

export { contactSnapshot };
