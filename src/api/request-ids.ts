import { newId } from '../kernel/ids.ts';

/**
 * Request ids: `req_` + a per-process unique part drawn once (newId's time and 12 random base62
 * characters) + a counter in base 36, e.g. `req_0QxW3h2K7fG1kd93LmA0Pq` + `1z`. Unique across
 * processes (the API's and the check process's) without a random draw and bigint arithmetic per
 * request (newId per request was ~8 % of a cached entitlement check's CPU).
 */
export function requestIds(): () => string {
  const base = newId('req');
  let seq = 0;
  return () => `${base}${(++seq).toString(36)}`;
}
