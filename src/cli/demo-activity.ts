import { DAY_MS } from '../kernel/dates.ts';
import type { DemoAccount, DemoUser, Persona } from './demo-company.ts';
import { STEPS_PER_MONTH, STORY } from './demo-company.ts';
import { Rng } from './random.ts';

/**
 * What an account's people do during one step of the timeline, as Segment messages (the event
 * vocabulary of docs/EVENTS.md). Everything is drawn from a stream seeded by (seed, account,
 * step), and every message has a fixed messageId, so a rerun sends the very same messages and
 * ingestion's messageId dedupe stores each once.
 *
 * Users who join in this step are identified (`identify` with traits.company.id) and grouped
 * (`group` with the firmographics) first, at the start of the window; their product events are
 * spread over the window [start, end). API usage is one `API Call` event every three days whose `quantity` is the requests since the
 * last report (the SDK reports in batches), e.g. 500/day growing 1.4x a month is ~15,000 calls
 * in month one and ~21,000 in month two.
 */
export type SegmentMessage = Record<string, unknown> & { type: string; messageId: string };

const REPORT_DAYS = 3;

/** Weekly rates (events per week) of behaviour signals by persona. */
const RATES: Record<Persona, { signIns: number; active: number; pricing: number; upgrade: number; enterprise: number; support: number; projects: number }> = {
  smb: { signIns: 0.7, active: 0.5, pricing: 0.15, upgrade: 0.05, enterprise: 0, support: 0.1, projects: 0.1 },
  steady: { signIns: 1, active: 0.8, pricing: 0.2, upgrade: 0.05, enterprise: 0, support: 0.2, projects: 0.15 },
  growth: { signIns: 1.2, active: 0.85, pricing: 0.7, upgrade: 0.35, enterprise: 0.15, support: 0.3, projects: 0.2 },
  enterprise: { signIns: 1.6, active: 0.8, pricing: 1.5, upgrade: 0.5, enterprise: 2, support: 0.5, projects: 0.2 },
};

export function traitsOf(a: DemoAccount) {
  return { name: a.name, employees: a.employees, industry: a.industry, country: a.country, tech_stack: a.techStack, website: `https://${a.domain}`, domain: a.domain, plan: a.plan };
}

export function stepMessages(a: DemoAccount, step: number, window: { start: Date; end: Date }, seed: number, totalSteps: number): SegmentMessage[] {
  if (step < a.signupStep) return [];
  const rng = Rng.forKey(seed, `activity:${a.index}:${step}`);
  const out: SegmentMessage[] = [];
  let seq = 0;
  const start = window.start.getTime();
  const span = window.end.getTime() - start;
  const weeks = span / (7 * DAY_MS);
  const at = (offsetMs: number) => new Date(Math.min(start + offsetMs, window.end.getTime() - 1000)).toISOString();
  const randomAt = () => at(Math.floor(rng.next() * span));
  const context = { groupId: a.groupId };
  const id = () => `demo-${seed}-a${a.index}-s${step}-${seq++}`;
  const track = (user: DemoUser, event: string, timestamp: string, properties: Record<string, unknown> = {}) =>
    out.push({ type: 'track', event, userId: user.userId, messageId: id(), timestamp, properties, context: { ...context } });

  const present = a.users.filter((u) => u.joinStep <= step);
  const founder = present[0]!;
  // New people: identified and grouped at the start of the window, then they sign up.
  for (const u of a.users.filter((x) => x.joinStep === step)) {
    const t0 = at(rng.int(0, 3600) * 1000);
    if (u !== founder) track(founder, 'Invite Sent', t0, { invitee_email: u.email, invitee_role: 'member' });
    out.push({ type: 'identify', userId: u.userId, messageId: id(), timestamp: t0, traits: { email: u.email, name: u.name, title: u.title, company: { id: a.groupId, name: a.name } }, context: { ...context } });
    out.push({ type: 'group', userId: u.userId, groupId: a.groupId, messageId: id(), timestamp: t0, traits: traitsOf(a) });
    track(u, 'Signed Up', at(rng.int(3600, 7200) * 1000), { team: u.team });
  }

  // The enterprise evaluator with a quote is in procurement in the last month: everyone is in.
  const closing = a.index === STORY.quote && step >= totalSteps - STEPS_PER_MONTH;
  const r = closing ? { ...RATES.enterprise, signIns: 4, active: 1, pricing: 4, upgrade: 1.5, support: 1 } : RATES[a.persona];
  const monthsIn = (step - a.signupStep) / STEPS_PER_MONTH;
  // Product usage: sign-ins, features, projects.
  for (const u of present) {
    if (!rng.chance(r.active)) continue;
    const sessions = rng.poisson(r.signIns * weeks * (a.persona === 'growth' ? Math.min(2, a.growth ** monthsIn) : 1));
    for (let s = 0; s < sessions; s++) {
      const t = randomAt();
      track(u, 'Signed In', t, { team: u.team });
      const uses = rng.chance(0.15) ? 2 : 1;
      for (let k = 0; k < uses; k++) track(u, 'Feature Used', at(Date.parse(t) - start + (k + 1) * 60_000), { feature: rng.pick(a.features), team: u.team });
    }
    for (let p = rng.poisson(r.projects * weeks); p > 0; p--) track(u, 'Project Created', randomAt(), { team: u.team });
  }

  // API usage: the SDK reports the request count every few days.
  if (a.apiPerDay > 0) {
    for (let d = 0; d * DAY_MS < span; d += REPORT_DAYS) {
      const days = Math.min(REPORT_DAYS, (span - d * DAY_MS) / DAY_MS);
      const quantity = Math.max(1, Math.round(a.apiPerDay * days * a.growth ** monthsIn * (0.7 + rng.next() * 0.6)));
      track(founder, 'API Call', at(d * DAY_MS + rng.int(0, 20) * 3600_000), { quantity, endpoint: rng.pick(['/v1/query', '/v1/ingest', '/v1/export']) });
    }
  }

  // Buying signals.
  const someone = () => rng.pick(present);
  const growthBoost = a.persona === 'growth' ? 1 + monthsIn : 1;
  for (let k = rng.poisson(r.pricing * weeks * growthBoost); k > 0; k--) track(someone(), 'Pricing Page Viewed', randomAt(), { plan: rng.pick(['pro', 'business']) });
  if (monthsIn >= 0.5) for (let k = rng.poisson(r.upgrade * weeks * growthBoost); k > 0; k--) track(someone(), 'Upgrade Clicked', randomAt(), { plan: a.plan === 'starter' ? 'pro' : 'business' });
  for (let k = rng.poisson(r.enterprise * weeks); k > 0; k--) track(someone(), 'Enterprise Feature Viewed', randomAt(), { feature: rng.pick(['sso', 'audit_log', 'scim']) });
  for (let k = rng.poisson(r.support * weeks); k > 0; k--) track(someone(), 'Support Ticket Created', randomAt(), { priority: rng.pick(['low', 'normal', 'normal', 'high']) });
  if (a.plan === 'free' && a.apiPerDay > 25 && rng.chance(0.3)) track(founder, 'Paywall Hit', randomAt(), { feature: 'api_calls', limit: 1000 });

  // The enterprise evaluators' buying process: a demo, then a security review and procurement.
  if (a.persona === 'enterprise') {
    if (step === a.signupStep + 2) track(founder, 'Demo Requested', randomAt());
    if (step === Math.max(a.signupStep + 3, totalSteps - 3)) track(founder, 'Security Review Requested', randomAt());
    if (a.index === STORY.quote && step === totalSteps - 2) track(founder, 'Procurement Started', randomAt());
  }
  return out;
}
