import type { PlanKey } from './demo-catalog.ts';
import { Rng } from './random.ts';

/**
 * The demo company's customers: who they are (firmographics sent with Segment `group` calls),
 * who works there (contacts sent with `identify`), what they bought and what happens to them.
 *
 * Personas repeat every 20 accounts, so 40 accounts hold 18 low-fit SMBs (free-mail users,
 * mostly on Free), 16 fast-growing mid-market teams, 4 steady small customers and 2 enterprise
 * evaluators with more than 500 employees. The first eight accounts carry the scripted stories
 * (the same whatever N is, as long as N covers them):
 *   0  growth  Pro monthly, adds seats in month 2 (expansion)
 *   1  steady  Starter monthly; its card is replaced by one that declines (4000 0000 0000 0341) → dunning
 *   2  growth  Pro annual on invoice, Net 30 (invoices paid by bank transfer)
 *   3  enterprise evaluator on Pro monthly; gets an Enterprise quote (sent, awaiting signature)
 *   5  growth  Starter monthly, upgrades to Pro in month 2 (prorated)
 *   7  growth  Business monthly by card (a sales-assisted win)
 */
export type Persona = 'smb' | 'steady' | 'growth' | 'enterprise';
export type Collection = 'card' | 'invoice' | 'none';

export interface DemoUser {
  userId: string;
  email: string;
  name: string;
  title: string;
  team: string;
  /** Timeline step at which the user joins (the account's signup step for founders). */
  joinStep: number;
}

export interface DemoAccount {
  index: number;
  groupId: string;
  name: string;
  domain: string;
  persona: Persona;
  employees: number;
  industry: string;
  country: string;
  techStack: string[];
  signupStep: number;
  users: DemoUser[];
  plan: PlanKey;
  interval: 'month' | 'year';
  collection: Collection;
  seats: number;
  /** API calls per day in the first month; multiplied by `growth` each month. */
  apiPerDay: number;
  growth: number;
  /** Product features this account uses (PQL: feature adoption breadth). */
  features: string[];
  teams: string[];
}

const PATTERN: Persona[] = ['growth', 'steady', 'growth', 'enterprise', 'smb', 'growth', 'smb', 'growth', 'smb', 'growth', 'steady', 'smb', 'growth', 'smb', 'smb', 'growth', 'smb', 'growth', 'smb', 'smb'];

const PREFIXES = ['North', 'Blue', 'Bright', 'Silver', 'Cedar', 'Harbor', 'Summit', 'Pixel', 'Granite', 'Lumen', 'Orbit', 'Maple', 'Copper', 'Delta', 'Vector', 'Quartz', 'Willow', 'Atlas', 'Nimbus', 'Juniper', 'Kestrel', 'Beacon', 'Tidal', 'Falcon'];
const STEMS = ['wind', 'field', 'stone', 'line', 'peak', 'bridge', 'forge', 'path', 'leaf', 'wave', 'light', 'gate'];
const SUFFIX: Record<Persona, string[]> = {
  smb: ['Studio', 'Bakery', 'Design', 'Consulting', 'Crafts', 'Tutoring', 'Florist', 'Photography'],
  steady: ['Goods', 'Health', 'Media', 'Outfitters', 'Marketing'],
  growth: ['Labs', 'Analytics', 'Cloud', 'Data', 'Pay', 'AI', 'Systems', 'HQ'],
  enterprise: ['Financial Group', 'Global', 'Holdings', 'Telecom', 'Health Systems'],
};
const INDUSTRIES: Record<Persona, string[]> = {
  smb: ['Consulting', 'Retail', 'Education', 'Nonprofit', 'Hospitality', 'Real estate'],
  steady: ['E-commerce', 'Marketing', 'Healthcare', 'Media'],
  growth: ['Software', 'SaaS', 'Fintech', 'Technology', 'Internet', 'Financial services'],
  enterprise: ['Financial services', 'Software', 'Telecommunications', 'Healthcare'],
};
const STACKS: Record<Persona, string[]> = {
  smb: ['Shopify', 'Google Workspace', 'Mailchimp', 'WordPress', 'Squarespace'],
  steady: ['Shopify', 'HubSpot', 'Stripe', 'AWS', 'Google Workspace'],
  growth: ['Segment', 'Snowflake', 'HubSpot', 'Stripe', 'AWS', 'dbt', 'Google Cloud', 'Kubernetes'],
  enterprise: ['Okta', 'Salesforce', 'Snowflake', 'Databricks', 'Azure', 'Kubernetes', 'Segment'],
};
const COUNTRIES = ['US', 'US', 'US', 'GB', 'DE', 'CA', 'FR', 'NL', 'AU'];
const FREE_MAIL = ['gmail.com', 'yahoo.com', 'outlook.com', 'hotmail.com', 'icloud.com'];
const FIRST = ['Ada', 'Grace', 'Alan', 'Linus', 'Margaret', 'Ken', 'Barbara', 'Dennis', 'Frances', 'Tim', 'Radia', 'Guido', 'Hedy', 'John', 'Katherine', 'Edsger', 'Sophie', 'Niklaus', 'Anita', 'Leslie', 'Mary', 'Bjarne', 'Joan', 'Vint'];
const LAST = ['Lovelace', 'Hopper', 'Turing', 'Torvalds', 'Hamilton', 'Thompson', 'Liskov', 'Ritchie', 'Allen', 'Berners', 'Perlman', 'Rossum', 'Lamarr', 'Backus', 'Johnson', 'Dijkstra', 'Wilson', 'Wirth', 'Borg', 'Lamport', 'Shaw', 'Stroustrup', 'Clarke', 'Cerf'];
const TITLES = ['Engineer', 'Product Manager', 'Data Analyst', 'Founder', 'Head of Growth', 'Developer', 'Designer', 'CTO', 'Operations Lead'];
export const PRODUCT_FEATURES = ['dashboards', 'reports', 'alerts', 'integrations', 'exports', 'workflows', 'api_keys', 'webhooks'];
const TEAMS = ['platform', 'data', 'growth', 'security', 'mobile', 'finance'];

const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '');

/** Steps per month on the timeline (see demo-timeline.ts). */
export const STEPS_PER_MONTH = 4;

export function generateCompany(opts: { accounts: number; months: number; seed: number }): DemoAccount[] {
  const out: DemoAccount[] = [];
  const usedNames = new Set<string>();
  const lastStep = opts.months * STEPS_PER_MONTH - 1;
  for (let i = 0; i < opts.accounts; i++) {
    const rng = Rng.forKey(opts.seed, `account:${i}`);
    const persona = PATTERN[i % PATTERN.length]!;
    let name = `${rng.pick(PREFIXES)}${rng.pick(STEMS)} ${rng.pick(SUFFIX[persona])}`;
    while (usedNames.has(name)) name = `${name} ${i}`;
    usedNames.add(name);
    const domain = `${slug(name)}.${persona === 'smb' ? rng.pick(['shop', 'co', 'studio']) : rng.pick(['com', 'io', 'ai'])}`;
    // Most customers arrive in the first month; later ones land in later months (if any).
    const late = i >= 8 && opts.months > 1 && rng.chance(0.25);
    const signupStep = late ? rng.int(STEPS_PER_MONTH, Math.max(STEPS_PER_MONTH, lastStep - 1)) : i < 8 ? i % 2 : rng.int(0, STEPS_PER_MONTH - 1);
    const employees = { smb: rng.int(1, 12), steady: rng.int(15, 80), growth: rng.int(60, 450), enterprise: rng.int(800, 6000) }[persona];
    const founders = { smb: rng.int(1, 2), steady: rng.int(3, 5), growth: rng.int(3, 6), enterprise: rng.int(8, 14) }[persona];
    // Growing teams add people every month; the others stay as they are.
    const joiners = persona === 'growth' ? Math.round(founders * 0.4 * opts.months) : persona === 'enterprise' ? rng.int(2, 6) * opts.months : 0;
    const teams = persona === 'enterprise' ? rng.sample(TEAMS, 4) : persona === 'growth' ? rng.sample(TEAMS, rng.int(1, 2)) : ['default'];
    const users: DemoUser[] = [];
    for (let u = 0; u < founders + joiners; u++) {
      const first = rng.pick(FIRST);
      const last = rng.pick(LAST);
      const mailDomain = persona === 'smb' ? rng.pick(FREE_MAIL) : domain;
      const local = persona === 'smb' ? `${slug(first)}.${slug(last)}${rng.int(10, 99)}` : `${slug(first)}.${slug(last)}`;
      users.push({
        userId: `u-${i}-${u}`,
        email: `${local}@${mailDomain}`,
        name: `${first} ${last}`,
        title: u === 0 && persona === 'smb' ? 'Founder' : rng.pick(TITLES),
        team: teams[u % teams.length]!,
        joinStep: u < founders ? signupStep : Math.min(lastStep, signupStep + 1 + Math.floor(((u - founders) * (lastStep - signupStep)) / Math.max(1, joiners))),
      });
    }
    const story = storyPlan(i, persona, rng);
    out.push({
      index: i,
      groupId: `org-${slug(name)}`,
      name,
      domain,
      persona,
      employees,
      industry: rng.pick(INDUSTRIES[persona]),
      country: rng.pick(COUNTRIES),
      // Enterprise evaluators run Okta and Salesforce (the identity and CRM stack SSO buyers have).
      techStack: persona === 'enterprise' ? ['Okta', 'Salesforce', ...rng.sample(STACKS.enterprise.slice(2), rng.int(1, 2))] : rng.sample(STACKS[persona], persona === 'smb' ? 2 : rng.int(2, 4)),
      signupStep,
      users,
      ...story,
      seats: story.plan === 'pro' ? Math.max(3, founders) : 1,
      apiPerDay: { smb: rng.chance(0.5) ? rng.int(5, 40) : 0, steady: rng.int(150, 300), growth: rng.int(250, 700), enterprise: rng.int(2000, 6000) }[persona],
      growth: persona === 'growth' ? 1.3 + rng.next() * 0.4 : persona === 'enterprise' ? 1.2 : 1,
      features: rng.sample(PRODUCT_FEATURES, { smb: rng.int(1, 2), steady: rng.int(2, 4), growth: rng.int(4, 7), enterprise: rng.int(6, 8) }[persona]),
      teams,
    });
  }
  return out;
}

function storyPlan(i: number, persona: Persona, rng: Rng): Pick<DemoAccount, 'plan' | 'interval' | 'collection'> {
  const scripted: Record<number, Pick<DemoAccount, 'plan' | 'interval' | 'collection'>> = {
    0: { plan: 'pro', interval: 'month', collection: 'card' },
    1: { plan: 'starter', interval: 'month', collection: 'card' },
    2: { plan: 'pro', interval: 'year', collection: 'invoice' },
    3: { plan: 'pro', interval: 'month', collection: 'card' },
    5: { plan: 'starter', interval: 'month', collection: 'card' },
    7: { plan: 'business', interval: 'month', collection: 'card' },
  };
  if (scripted[i]) return scripted[i]!;
  if (persona === 'smb') return rng.chance(0.2) ? { plan: 'starter', interval: 'month', collection: 'card' } : { plan: 'free', interval: 'month', collection: 'none' };
  if (persona === 'enterprise') return { plan: 'free', interval: 'month', collection: 'none' };
  if (persona === 'steady') return { plan: 'starter', interval: rng.chance(0.5) ? 'year' : 'month', collection: 'card' };
  return { plan: rng.pick(['starter', 'starter', 'pro'] as const), interval: rng.chance(0.3) ? 'year' : 'month', collection: 'card' };
}

/** The account of one of the scripted stories, if N is large enough to include it. */
export const STORY = { expansion: 0, dunning: 1, netTerms: 2, quote: 3, upgrade: 5, business: 7 } as const;
