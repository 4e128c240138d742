/**
 * The plain entitlement check, as both hot paths see it (routes/entitlements.ts `checkFastPath`
 * in the API process, and the check process, check-process/): `GET /v1/entitlements/check?`
 * with exactly `account` and `feature`. Kept apart from the route so the check process loads
 * no more than this.
 */
export const CHECK_PREFIX = '/v1/entitlements/check?';
const PLAIN = /^[A-Za-z0-9_.~-]+$/;

/**
 * `account` and `feature` when the query string is exactly these two parameters, once each, in
 * either order, made of characters that need no decoding (ids like acct_… and keys like
 * api_calls), so that any query parser reads the same values; else undefined.
 * "account=acct_1&feature=sso" → { account: 'acct_1', feature: 'sso' }; "account=a%20b&feature=x" → undefined.
 */
export function plainCheckQuery(url: string): { account: string; feature: string } | undefined {
  const amp = url.indexOf('&', CHECK_PREFIX.length);
  if (amp < 0 || url.indexOf('&', amp + 1) >= 0) return undefined;
  let account: string | undefined;
  let feature: string | undefined;
  for (const part of [url.slice(CHECK_PREFIX.length, amp), url.slice(amp + 1)]) {
    const eq = part.indexOf('=');
    const value = part.slice(eq + 1);
    if (eq < 0 || !PLAIN.test(value)) return undefined;
    const name = part.slice(0, eq);
    if (name === 'account' && account === undefined) account = value;
    else if (name === 'feature' && feature === undefined) feature = value;
    else return undefined;
  }
  return account !== undefined && feature !== undefined ? { account, feature } : undefined;
}
