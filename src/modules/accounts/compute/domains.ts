import { readFileSync } from 'node:fs';
import { domainToASCII } from 'node:url';

/** The shipped free-mail list (free-mail-domains.txt): exact domains and "name.*" families. */
const FREE_MAIL = (() => {
  const exact = new Set<string>();
  const families = new Set<string>();
  for (const line of readFileSync(new URL('../free-mail-domains.txt', import.meta.url), 'utf8').split('\n')) {
    const d = line.trim().toLowerCase();
    if (!d || d.startsWith('#')) continue;
    if (d.endsWith('.*')) families.add(d.slice(0, -2));
    else exact.add(d);
  }
  return { exact, families };
})();

/** A country or generic suffix after a family name: com, de, co.uk, com.br … */
const SUFFIX = /^[a-z]{2,3}(\.[a-z]{2,3})?$/;
/** Second-level labels under which companies register (acme.co.uk): never a company domain on their own. */
const REGISTRY_SECOND_LEVEL = new Set(['co', 'com', 'net', 'org', 'gov', 'ac', 'edu', 'ltd', 'plc', 'ne', 'or', 'go']);

export function isFreeMailDomain(domain: string): boolean {
  const d = domain.toLowerCase();
  if (FREE_MAIL.exact.has(d)) return true;
  const dot = d.indexOf('.');
  return dot > 0 && FREE_MAIL.families.has(d.slice(0, dot)) && SUFFIX.test(d.slice(dot + 1));
}

/**
 * "https://www.Acme.com/pricing" → "acme.com"; "ACME.co.uk." → "acme.co.uk"; IDN → punycode.
 * Returns null for anything that is not a plausible registrable host name.
 */
export function normalizeDomain(input: string): string | null {
  let s = input.trim().toLowerCase();
  if (!s || s.length > 300) return null;
  s = s.replace(/^[a-z][a-z0-9+.-]*:\/\//, '');
  s = s.replace(/^[^@/]*@/, '');
  s = s.split(/[/?#]/, 1)[0].replace(/:\d+$/, '').replace(/\.$/, '').replace(/^www\d?\./, '');
  const ascii = domainToASCII(s);
  if (!ascii || ascii.length > 253) return null;
  const labels = ascii.split('.');
  if (labels.length < 2) return null;
  if (!labels.every((l) => /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(l))) return null;
  if (/^\d+$/.test(labels[labels.length - 1])) return null; // an IP address
  return ascii;
}

/** The domain of an email address, normalized, or null. */
export function emailDomain(email: string): string | null {
  const at = email.lastIndexOf('@');
  if (at <= 0 || at === email.length - 1) return null;
  return normalizeDomain(email.slice(at + 1));
}

/**
 * The domains an email domain can belong to, most specific first: eng.eu.acme.com →
 * [eng.eu.acme.com, eu.acme.com, acme.com]. Stops before a bare suffix (com, co.uk).
 * Free-mail domains yield nothing.
 */
export function candidateDomains(domain: string): string[] {
  if (isFreeMailDomain(domain)) return [];
  const labels = domain.split('.');
  const out: string[] = [];
  for (let i = 0; i <= labels.length - 2; i++) {
    const rest = labels.slice(i);
    if (rest.length === 2 && REGISTRY_SECOND_LEVEL.has(rest[0])) break;
    if (i > 0 && isFreeMailDomain(rest.join('.'))) break;
    out.push(rest.join('.'));
  }
  return out;
}
