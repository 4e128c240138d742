/**
 * The built-in, offline firmographics provider: a local file of companies by domain.
 *
 * JSON: an array of `{ "domain", "name", "employees", "industry", "country", "tech_stack": [...] }`.
 * CSV:  a header `domain,name,employees,industry,country,tech_stack` with tech_stack separated by
 *       semicolons ("segment;aws"); fields may be double-quoted.
 * The file is read once and re-read when its modification time changes.
 */
import { readFileSync, statSync } from 'node:fs';
import type { CompanyProfile, FirmographicsProvider } from './provider.ts';

function parseCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') (cur += '"'), i++;
      else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') out.push(cur), (cur = '');
    else cur += ch;
  }
  out.push(cur);
  return out.map((s) => s.trim());
}

const text = (v: unknown): string | null => (typeof v === 'string' && v.trim() ? v.trim() : null);

function toProfile(r: Record<string, unknown>): CompanyProfile | null {
  const domain = text(r.domain)?.toLowerCase();
  if (!domain) return null;
  const n = typeof r.employees === 'number' ? r.employees : typeof r.employees === 'string' && /^\d+$/.test(r.employees.trim()) ? Number(r.employees) : null;
  const tech = Array.isArray(r.tech_stack) ? r.tech_stack : typeof r.tech_stack === 'string' ? r.tech_stack.split(';') : [];
  return {
    domain,
    name: text(r.name),
    employees: n !== null && Number.isSafeInteger(n) && n >= 0 ? n : null,
    industry: text(r.industry),
    country: text(r.country),
    techStack: tech.map((t) => String(t).trim()).filter(Boolean),
  };
}

export function parseDataset(content: string, format: 'json' | 'csv'): Map<string, CompanyProfile> {
  const rows: Record<string, unknown>[] = [];
  if (format === 'json') {
    const parsed = JSON.parse(content) as unknown;
    if (!Array.isArray(parsed)) throw new Error('a firmographics JSON dataset is an array of companies');
    rows.push(...(parsed as Record<string, unknown>[]));
  } else {
    const lines = content.split(/\r?\n/).filter((l) => l.trim());
    const header = parseCsvLine(lines[0] ?? '').map((h) => h.toLowerCase());
    for (const line of lines.slice(1)) {
      const cells = parseCsvLine(line);
      rows.push(Object.fromEntries(header.map((h, i) => [h, cells[i] ?? ''])));
    }
  }
  const out = new Map<string, CompanyProfile>();
  for (const r of rows) {
    const p = toProfile(r);
    if (p) out.set(p.domain, p);
  }
  return out;
}

export class LocalDatasetProvider implements FirmographicsProvider {
  readonly name = 'local_dataset';
  private loaded: { mtimeMs: number; byDomain: Map<string, CompanyProfile> } | undefined;

  constructor(readonly file: string) {}

  private load(): Map<string, CompanyProfile> {
    const mtimeMs = statSync(this.file).mtimeMs;
    if (!this.loaded || this.loaded.mtimeMs !== mtimeMs) {
      const format = this.file.toLowerCase().endsWith('.csv') ? 'csv' : 'json';
      this.loaded = { mtimeMs, byDomain: parseDataset(readFileSync(this.file, 'utf8'), format) };
    }
    return this.loaded.byDomain;
  }

  async lookup(domains: readonly string[]): Promise<Map<string, CompanyProfile>> {
    const all = this.load();
    const out = new Map<string, CompanyProfile>();
    for (const d of domains) {
      const p = all.get(d.toLowerCase()) ?? all.get(d.toLowerCase().replace(/^www\./, ''));
      if (p) out.set(d.toLowerCase(), p);
    }
    return out;
  }
}
