import type { Ctx } from '../../context.ts';
import { AppError, notFound } from '../../kernel/errors.ts';
import { candidateDomains, createAccount, createContact, emailDomain, isFreeMailDomain, listAccounts, listContacts, resolveAccountId } from '../accounts/index.ts';

/**
 * Who is buying: the account and contact for a buyer's email, found or created — always with a
 * context bound to the caller's transaction, so a failed checkout leaves no account behind.
 *
 * Order of evidence: an account the session was created for; the account an existing contact
 * with this email already belongs to; an account claiming the email's corporate domain (most
 * specific first: eng.acme.com, then acme.com). Otherwise a new account named after the
 * company, claiming the corporate domain — a free-mail address (gmail.com …) identifies no
 * company, so its account claims no domain.
 */
export interface Buyer {
  accountId: string;
  contactId: string;
  accountCreated: boolean;
  contactCreated: boolean;
  email: string;
}

export function normalizeEmail(raw: string, param = 'email'): { email: string; domain: string } {
  const email = raw.trim().toLowerCase();
  const domain = email.length <= 320 && /^[^\s@]+@[^\s@]+$/.test(email) ? emailDomain(email) : null;
  if (!domain) throw new AppError({ code: 'parameter_invalid', message: `'${raw}' is not an email address.`, param });
  return { email, domain };
}

export async function resolveBuyer(b: Ctx, input: { email: string; name?: string | null; company?: string | null; accountId?: string | null; lifecycleStage?: string | null }): Promise<Buyer> {
  const { email, domain } = normalizeEmail(input.email);
  const corporate = !isFreeMailDomain(domain);
  const db = b.deps.database.db;
  let accountId: string | null = null;
  if (input.accountId) {
    accountId = await resolveAccountId(db, b.workspaceId, input.accountId);
    if (!accountId) throw notFound('account', input.accountId, 'account');
  }
  const [existing] = await listContacts(b, { limit: 1, email });
  if (!accountId && existing?.accountId) accountId = existing.accountId;
  if (!accountId && corporate) {
    for (const d of candidateDomains(domain)) {
      const found = (await listAccounts(b, { limit: 5, domain: d })).find((a) => a.status === 'active' && a.domains.includes(d));
      if (found) {
        accountId = found.id;
        break;
      }
    }
  }
  let accountCreated = false;
  if (!accountId) {
    const company = input.company?.trim();
    if (!company) throw new AppError({ code: 'parameter_missing', message: 'Enter your company name.', param: 'company' });
    const account = await createAccount(b, { name: company.slice(0, 500), domains: corporate ? [domain] : [], ...(input.lifecycleStage ? { lifecycleStage: input.lifecycleStage } : {}) });
    accountId = account.id;
    accountCreated = true;
  }
  if (existing) return { accountId, contactId: existing.id, accountCreated, contactCreated: false, email };
  const contact = await createContact(b, { email, name: input.name?.trim() || null, account: accountId });
  return { accountId, contactId: contact.id, accountCreated, contactCreated: true, email };
}
