/**
 * Event plans for the three example accounts of default-model.test.ts, as Segment messages, so
 * the database path (ingestion → SQL aggregation → evaluation) can be checked against the same
 * hand-computed numbers. Day k means "k whole days before asOf" (timestamp asOf − k days − 1 hour).
 */
const DAY_MS = 86_400_000;

export type Message = Record<string, unknown>;

export class Plan {
  readonly messages: Message[] = [];
  private n = 0;
  constructor(
    readonly groupId: string,
    readonly asOf: Date,
  ) {}

  private at(day: number) {
    return new Date(this.asOf.getTime() - day * DAY_MS - 3600_000).toISOString();
  }

  track(userId: string, event: string, day: number, properties: Record<string, unknown> = {}, times = 1): this {
    for (let i = 0; i < times; i++) {
      this.messages.push({ type: 'track', messageId: `${this.groupId}-${this.n++}`, userId, event, properties, timestamp: this.at(day), context: { groupId: this.groupId } });
    }
    return this;
  }

  page(userId: string, path: string, day: number, times = 1): this {
    for (let i = 0; i < times; i++) {
      this.messages.push({ type: 'page', messageId: `${this.groupId}-${this.n++}`, userId, name: 'Pricing', properties: { path }, timestamp: this.at(day), context: { groupId: this.groupId } });
    }
    return this;
  }
}

/**
 * Low-fit SMB: DAU pairs 3 · 1 feature · trend 6 (last 14 days) vs 8 (the 14 before) · a ticket 20 days ago.
 * Last 14 days: sign-ins d0, d2, d4, d9, d9 (5) + 1 feature use = 6. Before: 7 sign-ins d15 + the ticket d20 = 8.
 */
export function lowFitSmb(groupId: string, asOf: Date): Plan {
  const p = new Plan(groupId, asOf);
  for (const d of [0, 2, 4]) p.track('t1', 'Signed In', d);
  p.track('t1', 'Feature Used', 2, { feature: 'editor' });
  p.track('t1', 'Signed In', 9, {}, 2);
  p.track('t1', 'Signed In', 15, {}, 7);
  p.track('t1', 'Support Ticket Created', 20);
  return p;
}

/**
 * Fast-growing mid-market team: 6 users signed in every day of the week (42 pairs) · 5 features ·
 * 6 invites · 6 pricing views today (3 track + 3 page views of /pricing) · 3 upgrade signals
 * (latest yesterday) · a ticket 3 days ago. Last 14 days: 42 + 5 + 6 + 6 + 3 + 1 + 27 = 90; before: 45.
 */
export function fastGrowingMidMarket(groupId: string, asOf: Date): Plan {
  const p = new Plan(groupId, asOf);
  for (let u = 1; u <= 6; u++) for (let d = 0; d < 7; d++) p.track(`g${u}`, 'Signed In', d);
  for (const f of ['dashboards', 'alerts', 'exports', 'api', 'sso-setup']) p.track('g1', 'Feature Used', 1, { feature: f });
  p.track('g2', 'Invite Sent', 2, {}, 6);
  p.track('g3', 'Pricing Page Viewed', 0, {}, 3);
  p.page('g3', '/pricing', 0, 3);
  p.track('g1', 'Upgrade Clicked', 1);
  p.track('g4', 'Paywall Hit', 4);
  p.track('g5', 'Trial Started', 10);
  p.track('g2', 'Support Ticket Created', 3);
  p.track('g1', 'Signed In', 8, {}, 27);
  p.track('g1', 'Signed In', 20, {}, 45);
  return p;
}

/**
 * Enterprise evaluator: 10 users signed in every day (70 pairs) in 3 teams · 9 features · 12 users
 * added · 5 pricing views (latest yesterday) · 3 enterprise feature views today + a demo request +
 * an upgrade click · 2 tickets (latest 6 days ago) · a security review. Last 14 days: 120; before: 60.
 */
export function enterpriseEvaluator(groupId: string, asOf: Date): Plan {
  const p = new Plan(groupId, asOf);
  const team = (u: number) => (u <= 4 ? 'data' : u <= 7 ? 'finance' : 'risk');
  for (let u = 1; u <= 10; u++) for (let d = 0; d < 7; d++) p.track(`m${u}`, 'Signed In', d, { team: team(u) });
  for (let f = 1; f <= 9; f++) p.track('m1', 'Feature Used', 1, { feature: `feature-${f}` });
  p.track('m2', 'Account Added User', 3, {}, 12);
  for (const d of [1, 2, 3, 4, 5]) p.track('m3', 'Pricing Page Viewed', d);
  p.track('m4', 'Enterprise Feature Viewed', 0, { feature: 'audit-log' }, 3);
  p.track('m4', 'Demo Requested', 2);
  p.track('m1', 'Upgrade Clicked', 5);
  p.track('m5', 'Support Ticket Created', 6);
  p.track('m5', 'Support Ticket Created', 8);
  p.track('m6', 'Security Review Requested', 2);
  p.track('m1', 'Signed In', 10, {}, 16);
  p.track('m1', 'Signed In', 18, {}, 60);
  return p;
}
