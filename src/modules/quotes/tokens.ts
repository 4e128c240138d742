import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Hosted-page links carry no API key: a link is `<object id>.<HMAC-SHA256(secret, purpose:id)>`
 * (base64url), with a per-workspace secret that never leaves the server. Knowing one link tells
 * nothing about another; comparing is constant-time; a wrong token is answered like a missing page.
 */
export function signId(secret: string, purpose: string, id: string): string {
  return createHmac('sha256', Buffer.from(secret, 'hex')).update(`${purpose}:${id}`).digest('base64url');
}

export function linkToken(secret: string, purpose: string, id: string): string {
  return `${id}.${signId(secret, purpose, id)}`;
}

/** Splits `<id>.<mac>`; null when malformed. */
export function parseLinkToken(token: string): { id: string; mac: string } | null {
  const dot = token.lastIndexOf('.');
  if (dot <= 0 || dot === token.length - 1 || token.length > 300) return null;
  const id = token.slice(0, dot);
  if (!/^[a-z]+_[0-9A-Za-z]+$/.test(id)) return null;
  return { id, mac: token.slice(dot + 1) };
}

export function macMatches(secret: string, purpose: string, id: string, mac: string): boolean {
  const expected = Buffer.from(signId(secret, purpose, id));
  const given = Buffer.from(mac);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
