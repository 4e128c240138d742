/**
 * Fit inputs: firmographics per account, from the account itself (group traits `employees`,
 * `industry`, `country`, `tech_stack`, or the API) and, for what it lacks, from enrichment by its
 * domain. Every change is recorded with the instant it became known (`scoring_firmographics`),
 * so fit is stored at signup and backtests see firmographics as they were known at the time.
 */
import type { Ctx } from '../../context.ts';
import { execOn, type Exec } from '../events/index.ts';
import { enrich, firmographicsProvider, type CompanyProfile } from './enrichment/provider.ts';
import * as repo from './scoring.repo.ts';
import type { Firmographics } from './scoring.ts';

/** Account fields win over enrichment, field by field; `sources` says where each known field came from. */
export function mergeFirmographics(fact: repo.AccountFacts, profile: CompanyProfile | undefined, provider: string): Firmographics {
  const sources: Record<string, string> = {};
  const pick = <T>(field: string, own: T | null, enriched: T | null | undefined): T | null => {
    if (own !== null) {
      sources[field] = 'account';
      return own;
    }
    if (enriched !== null && enriched !== undefined) {
      sources[field] = provider;
      return enriched;
    }
    return null;
  };
  const employees = pick('employees', fact.employees, profile?.employees);
  const industry = pick('industry', fact.industry, profile?.industry);
  const country = pick('country', fact.country, profile?.country);
  const techStack = pick('tech_stack', fact.techStack?.length ? fact.techStack : null, profile?.techStack.length ? profile.techStack : null) ?? [];
  return { domain: fact.domain, employees, industry, country, techStack, sources };
}

/** jsonb reorders object keys: compare sources as sorted entries. */
const canonical = (f: Firmographics) => JSON.stringify([f.domain, f.employees, f.industry, f.country, f.techStack, Object.entries(f.sources).sort(([a], [b]) => a.localeCompare(b))]);
const same = (a: Firmographics, b: Firmographics) => canonical(a) === canonical(b);
const strip = ({ knownAt: _k, ...f }: Firmographics & { knownAt?: Date }): Firmographics => f;

/**
 * Brings the recorded firmographics of these accounts (all live accounts when absent) up to date
 * and returns them. Enrichment is asked only for accounts missing a field, through the cache.
 * Runs outside any transaction (a networked provider must not hold one open).
 */
export async function refreshFirmographics(ctx: Ctx, accountIds?: readonly string[]): Promise<{ facts: repo.AccountFacts[]; firmographics: Map<string, Firmographics>; changed: string[] }> {
  const exec: Exec = execOn(ctx.deps.database);
  const facts = await repo.accountFacts(exec, ctx.workspaceId, accountIds);
  const ids = facts.map((f) => f.id);
  const known = await repo.latestFirmographics(exec, ctx.workspaceId, { accountIds: accountIds ? ids : undefined });
  const lacking = facts.filter((f) => f.domain && (f.employees === null || f.industry === null || f.country === null || !f.techStack?.length));
  const provider = firmographicsProvider(ctx.deps);
  const profiles = await enrich(exec, { workspaceId: ctx.workspaceId, asOf: ctx.asOf, provider, domains: lacking.map((f) => f.domain!) });
  const firmographics = new Map<string, Firmographics>();
  const writes: Array<{ accountId: string; f: Firmographics }> = [];
  for (const fact of facts) {
    const f = mergeFirmographics(fact, fact.domain ? profiles.get(fact.domain.toLowerCase()) : undefined, provider.name);
    firmographics.set(fact.id, f);
    const before = known.get(fact.id);
    if (!before || !same(strip(before), f)) writes.push({ accountId: fact.id, f });
  }
  for (let i = 0; i < writes.length; i += 5000) await repo.insertFirmographics(exec, ctx.workspaceId, ctx.asOf, writes.slice(i, i + 5000));
  return { facts, firmographics, changed: writes.map((w) => w.accountId) };
}

/**
 * The per-event path: the recorded firmographics of these accounts, refreshed only where the
 * account changed since they were recorded (group traits, the API) or none are recorded yet —
 * events alone do not change a company's size or industry. Returns the live accounts only.
 */
export async function currentFirmographics(ctx: Ctx, accountIds: readonly string[]): Promise<{ ids: string[]; firmographics: Map<string, Firmographics> }> {
  const exec: Exec = execOn(ctx.deps.database);
  const live = await repo.liveAccounts(exec, ctx.workspaceId, accountIds);
  const ids = [...live.keys()].sort();
  const known = await repo.latestFirmographics(exec, ctx.workspaceId, { accountIds: ids });
  const firmographics = new Map<string, Firmographics>();
  const stale: string[] = [];
  for (const id of ids) {
    const k = known.get(id);
    if (!k || live.get(id)!.getTime() > k.knownAt.getTime()) stale.push(id);
    else firmographics.set(id, strip(k));
  }
  if (stale.length) for (const [id, f] of (await refreshFirmographics(ctx, stale)).firmographics) firmographics.set(id, f);
  return { ids, firmographics };
}
