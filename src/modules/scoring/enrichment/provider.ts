/**
 * Enrichment: firmographics by web domain through a provider, behind a per-workspace cache with
 * a TTL (a provider is asked about a domain at most once per TTL, found or not).
 *
 * A provider is chosen per Tandem instance (`useFirmographicsProvider(deps, p)`); the default
 * reads the local dataset named by TANDEM_FIRMOGRAPHICS_FILE (JSON or CSV), or the sample shipped
 * in data/firmographics.sample.json, so enrichment works offline. A networked provider (Clearbit,
 * Apollo, …) implements the same interface; callers ask it outside database transactions.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Deps } from '../../../context.ts';
import { keySet } from '../../../db/sql.ts';
import { DAY_MS } from '../../../kernel/dates.ts';
import type { Exec } from '../../events/index.ts';
import { LocalDatasetProvider } from './local-dataset.ts';

export interface CompanyProfile {
  domain: string;
  name: string | null;
  employees: number | null;
  industry: string | null;
  country: string | null;
  techStack: string[];
}

export interface FirmographicsProvider {
  /** Stable name: part of the cache key and recorded as the source of each field it supplied. */
  readonly name: string;
  /** Profiles for the domains it knows (lower-case domains in, same keys out). */
  lookup(domains: readonly string[]): Promise<Map<string, CompanyProfile>>;
}

export const DEFAULT_TTL_DAYS = 30;

export const SAMPLE_DATASET = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../data/firmographics.sample.json');

const providers = new WeakMap<Deps, FirmographicsProvider>();

/** Replaces the provider for one Tandem instance (tests, embedding, a networked provider). */
export function useFirmographicsProvider(deps: Deps, provider: FirmographicsProvider): void {
  providers.set(deps, provider);
}

export function firmographicsProvider(deps: Deps): FirmographicsProvider {
  let p = providers.get(deps);
  if (!p) {
    p = new LocalDatasetProvider(process.env.TANDEM_FIRMOGRAPHICS_FILE || SAMPLE_DATASET);
    providers.set(deps, p);
  }
  return p;
}

export function ttlDays(): number {
  const v = Number(process.env.TANDEM_ENRICHMENT_TTL_DAYS);
  return Number.isFinite(v) && v > 0 ? v : DEFAULT_TTL_DAYS;
}

function profileFrom(domain: string, data: Record<string, unknown>): CompanyProfile {
  return {
    domain,
    name: (data.name as string | null) ?? null,
    employees: typeof data.employees === 'number' ? data.employees : null,
    industry: (data.industry as string | null) ?? null,
    country: (data.country as string | null) ?? null,
    techStack: Array.isArray(data.tech_stack) ? (data.tech_stack as string[]) : [],
  };
}

/**
 * The fresh cache rows (expires_at > asOf) of these domains. One probe of the cache's key per
 * domain (`keySet`), whatever the statistics: written as `domain = ANY(…)`, a cache analyzed while
 * it was small, or never, can be planned as a read of every domain the workspace ever enriched,
 * filtered — for each batch of accounts the per-event re-score enriches.
 */
export async function cachedProfiles(
  exec: Exec,
  input: { workspaceId: string; provider: string; domains: readonly string[]; asOf: Date },
): Promise<Array<{ domain: string; found: boolean; data: Record<string, unknown> | null }>> {
  if (input.domains.length === 0) return [];
  return exec(
    `SELECT c.domain, c.found, c.data FROM ${keySet('$3')},
            LATERAL (SELECT domain, found, data FROM enrichment_cache
                     WHERE workspace_id = $1 AND provider = $2 AND domain = keys.k AND expires_at > $4::timestamptz LIMIT 1) c`,
    [input.workspaceId, input.provider, input.domains, input.asOf.toISOString()],
  );
}

/**
 * Profiles for these domains: fresh cache rows first (expires_at > asOf), the provider for the
 * rest; every answer (including "not found") is cached until asOf + TTL.
 */
export async function enrich(exec: Exec, input: { workspaceId: string; asOf: Date; provider: FirmographicsProvider; domains: readonly string[] }): Promise<Map<string, CompanyProfile>> {
  const domains = [...new Set(input.domains.map((d) => d.toLowerCase()))];
  const out = new Map<string, CompanyProfile>();
  if (domains.length === 0) return out;
  const cached = await cachedProfiles(exec, { workspaceId: input.workspaceId, provider: input.provider.name, domains, asOf: input.asOf });
  const fresh = new Set<string>();
  for (const r of cached) {
    fresh.add(r.domain);
    if (r.found && r.data) out.set(r.domain, profileFrom(r.domain, r.data));
  }
  const missing = domains.filter((d) => !fresh.has(d));
  if (missing.length === 0) return out;
  const found = await input.provider.lookup(missing);
  const expires = new Date(input.asOf.getTime() + ttlDays() * DAY_MS);
  const rows = missing.map((d) => {
    const p = found.get(d);
    if (p) out.set(d, p);
    return { d, found: Boolean(p), data: p ? JSON.stringify({ name: p.name, employees: p.employees, industry: p.industry, country: p.country, tech_stack: p.techStack }) : null };
  });
  await exec(
    `INSERT INTO enrichment_cache (workspace_id, provider, domain, found, data, fetched_at, expires_at)
     SELECT $1, $2, t.domain, t.found, t.data::jsonb, $3::timestamptz, $4::timestamptz
     FROM unnest($5::text[], $6::boolean[], $7::text[]) AS t(domain, found, data)
     ON CONFLICT (workspace_id, provider, domain) DO UPDATE SET found = EXCLUDED.found, data = EXCLUDED.data,
       fetched_at = EXCLUDED.fetched_at, expires_at = EXCLUDED.expires_at`,
    [input.workspaceId, input.provider.name, input.asOf.toISOString(), expires.toISOString(), rows.map((r) => r.d), rows.map((r) => r.found), rows.map((r) => r.data)],
  );
  return out;
}
