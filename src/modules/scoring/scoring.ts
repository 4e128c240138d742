/**
 * PQL scoring: types, the model statuses, and the default model — PRODUCT.md section 1, exactly:
 * PQL = 40% Usage + 35% Fit + 25% Behavior, each sub-score out of 100 points;
 * Usage = DAU 0–30 + feature adoption 0–30 + usage trend 0–20 + collaboration 0–20;
 * Fit = company size 0–40 + industry 0–30 + tech stack 0–30;
 * Behavior = pricing page 0–30 + upgrade intent 0–40 + support engagement 0–30;
 * PQL > 70 → Sales Assist; PQL > 90 with enterprise fit → Enterprise.
 */
import type { Category, ModelConfig } from './model.schema.ts';

export * from './model.schema.ts';

export const MODEL_STATUSES = ['draft', 'shadow', 'active', 'archived'] as const;
export type ModelStatus = (typeof MODEL_STATUSES)[number];

export const LEVELS = ['none', 'sales_assist', 'enterprise'] as const;
export type Level = (typeof LEVELS)[number];
export const LEVEL_RANK: Record<Level, number> = { none: 0, sales_assist: 1, enterprise: 2 };

export type SnapshotReason = 'signup' | 'event' | 'recompute' | 'firmographics' | 'read';

export interface ScoringModel {
  id: string;
  workspaceId: string;
  version: number;
  name: string;
  description: string | null;
  status: ModelStatus;
  config: ModelConfig;
  createdAt: Date;
  activatedAt: Date | null;
  archivedAt: Date | null;
}

/** One signal's part of a score. `raw` is what was measured; `points` what it earned after cap and decay. */
export interface Contribution {
  key: string;
  category: Category;
  raw: number | string | string[] | null;
  /** Points from the points function, capped to [min_points, max_points], before decay. */
  base: number;
  points: number;
  /** Whole days since the latest matching event (event signals with matches), for decay and explanations. */
  days_since_last: number | null;
}

export interface EnterpriseIndicators {
  employees: number | null;
  teams: number;
  enterprise_feature_events: number;
  procurement_events: number;
  /** Which indicators hold: size, teams, enterprise_features, procurement. */
  met: string[];
}

export interface ScoreResult {
  total: number;
  usage: number;
  fit: number;
  behavior: number;
  level: Level;
  enterpriseFit: boolean;
  disqualifiedBy: string | null;
  contributions: Contribution[];
  indicators: EnterpriseIndicators;
}

export interface AccountScore extends ScoreResult {
  accountId: string;
  modelId: string;
  computedAt: Date;
  changedAt: Date;
}

export interface ScoreSnapshot extends ScoreResult {
  id: string;
  accountId: string;
  modelId: string;
  modelVersion: number;
  reason: SnapshotReason;
  computedAt: Date;
}

/** Firmographics as scoring knows them (fit inputs). */
export interface Firmographics {
  domain: string | null;
  employees: number | null;
  industry: string | null;
  country: string | null;
  techStack: string[];
  sources: Record<string, string>;
}

export const EMPTY_FIRMOGRAPHICS: Firmographics = { domain: null, employees: null, industry: null, country: null, techStack: [], sources: {} };

/** The event vocabulary the default model reads (docs/EVENTS.md). */
export const EVENTS = {
  signedUp: 'Signed Up',
  signedIn: 'Signed In',
  inviteSent: 'Invite Sent',
  accountAddedUser: 'Account Added User',
  trialStarted: 'Trial Started',
  featureUsed: 'Feature Used',
  pricingViewed: 'Pricing Page Viewed',
  upgradeClicked: 'Upgrade Clicked',
  paywallHit: 'Paywall Hit',
  enterpriseFeatureViewed: 'Enterprise Feature Viewed',
  supportTicketCreated: 'Support Ticket Created',
  demoRequested: 'Demo Requested',
  securityReviewRequested: 'Security Review Requested',
  procurementStarted: 'Procurement Started',
  contractRequested: 'Contract Requested',
} as const;

export const TARGET_INDUSTRIES = ['software', 'saas', 'technology', 'internet', 'financial services', 'fintech'];
export const ADJACENT_INDUSTRIES = ['marketing', 'advertising', 'e-commerce', 'retail', 'media', 'healthcare', 'consulting', 'telecommunications'];
export const TARGET_TECH = ['segment', 'snowflake', 'salesforce', 'hubspot', 'stripe', 'okta', 'databricks', 'dbt'];
export const CLOUD_TECH = ['aws', 'google cloud', 'azure', 'kubernetes'];

const any = { events: [], page_paths: [], page_names: [], filters: [] };

export const DEFAULT_MODEL_NAME = 'Default PQL model (usage 40 · fit 35 · behavior 25)';

export const DEFAULT_MODEL: ModelConfig = {
  weights: { usage: 40, fit: 35, behavior: 25 },
  thresholds: { sales_assist: 70, enterprise: 90 },
  enterprise_fit: {
    min_employees: 500,
    team_property: 'team',
    min_teams: 2,
    feature_events: [EVENTS.enterpriseFeatureViewed],
    procurement_events: [EVENTS.securityReviewRequested, EVENTS.procurementStarted, EVENTS.contractRequested],
    window_days: 30,
    min_indicators: 2,
  },
  signals: [
    {
      key: 'daily_active_users',
      label: 'Daily active users',
      category: 'usage',
      source: { kind: 'events', ...any, window_days: 7, aggregation: 'daily_active_users' },
      points: {
        type: 'bands',
        bands: [
          { min: 0.5, points: 3 },
          { min: 1, points: 6 },
          { min: 2, points: 10 },
          { min: 3, points: 14 },
          { min: 5, points: 18 },
          { min: 10, points: 24 },
          { min: 20, points: 30 },
        ],
      },
      max_points: 30,
      min_points: 0,
      explain: '{value} daily active user{s}',
    },
    {
      key: 'feature_adoption',
      label: 'Feature adoption breadth',
      category: 'usage',
      source: { kind: 'events', ...any, events: [EVENTS.featureUsed], window_days: 30, aggregation: 'distinct_property', property: 'feature' },
      points: {
        type: 'bands',
        bands: [
          { min: 1, points: 5 },
          { min: 2, points: 10 },
          { min: 4, points: 18 },
          { min: 6, points: 24 },
          { min: 8, points: 30 },
        ],
      },
      max_points: 30,
      min_points: 0,
      explain: 'used {value} distinct feature{s} {window}',
    },
    {
      key: 'usage_trend',
      label: 'Usage trend',
      category: 'usage',
      source: { kind: 'events', ...any, window_days: 14, aggregation: 'trend', min_events: 10 },
      points: {
        type: 'bands',
        bands: [
          { min: 1, points: 8 },
          { min: 1.25, points: 14 },
          { min: 1.5, points: 20 },
        ],
      },
      max_points: 20,
      min_points: 0,
      explain: 'activity {change} vs the {window_days} days before',
    },
    {
      key: 'collaboration',
      label: 'Collaboration',
      category: 'usage',
      source: { kind: 'events', ...any, events: [EVENTS.inviteSent, EVENTS.accountAddedUser], window_days: 30, aggregation: 'count' },
      points: {
        type: 'bands',
        bands: [
          { min: 1, points: 5 },
          { min: 3, points: 10 },
          { min: 5, points: 15 },
          { min: 10, points: 20 },
        ],
      },
      max_points: 20,
      min_points: 0,
      explain: 'invited or added {value} teammate{s} {window}',
    },
    {
      key: 'company_size',
      label: 'Company size',
      category: 'fit',
      source: { kind: 'firmographic', field: 'employees' },
      points: {
        type: 'bands',
        bands: [
          { min: 1, points: 4 },
          { min: 10, points: 10 },
          { min: 50, points: 18 },
          { min: 100, points: 26 },
          { min: 250, points: 32 },
          { min: 500, points: 36 },
          { min: 1000, points: 40 },
        ],
      },
      max_points: 40,
      min_points: 0,
      explain: '{value} employee{s}',
    },
    {
      key: 'industry',
      label: 'Industry',
      category: 'fit',
      source: { kind: 'firmographic', field: 'industry' },
      points: {
        type: 'match',
        groups: [
          { values: TARGET_INDUSTRIES, points: 30 },
          { values: ADJACENT_INDUSTRIES, points: 15 },
        ],
        default: 0,
      },
      max_points: 30,
      min_points: 0,
      explain: 'industry: {value}',
    },
    {
      key: 'tech_stack',
      label: 'Tech stack',
      category: 'fit',
      source: { kind: 'firmographic', field: 'tech_stack' },
      points: {
        type: 'match',
        groups: [
          { values: TARGET_TECH, points: 10 },
          { values: CLOUD_TECH, points: 5 },
        ],
        default: 0,
      },
      max_points: 30,
      min_points: 0,
      explain: 'uses {matched}',
    },
    {
      key: 'pricing_page',
      label: 'Pricing page visits',
      category: 'behavior',
      source: { kind: 'events', ...any, events: [EVENTS.pricingViewed], page_paths: ['/pricing'], window_days: 7, aggregation: 'count' },
      points: {
        type: 'bands',
        bands: [
          { min: 1, points: 8 },
          { min: 2, points: 14 },
          { min: 4, points: 24 },
          { min: 6, points: 30 },
        ],
      },
      max_points: 30,
      min_points: 0,
      half_life_days: 7,
      explain: 'viewed pricing {times} {window}',
    },
    {
      key: 'upgrade_intent',
      label: 'Upgrade intent',
      category: 'behavior',
      source: {
        kind: 'events',
        ...any,
        events: [EVENTS.upgradeClicked, EVENTS.paywallHit, EVENTS.demoRequested, EVENTS.trialStarted, EVENTS.enterpriseFeatureViewed],
        window_days: 14,
        aggregation: 'count',
      },
      points: {
        type: 'bands',
        bands: [
          { min: 1, points: 15 },
          { min: 2, points: 25 },
          { min: 3, points: 32 },
          { min: 5, points: 40 },
        ],
      },
      max_points: 40,
      min_points: 0,
      half_life_days: 7,
      explain: 'showed upgrade intent {times} {window} (upgrade clicks, paywall hits, trial or demo requests)',
    },
    {
      key: 'support_engagement',
      label: 'Support engagement',
      category: 'behavior',
      source: { kind: 'events', ...any, events: [EVENTS.supportTicketCreated], window_days: 30, aggregation: 'count' },
      points: {
        type: 'bands',
        bands: [
          { min: 1, points: 10 },
          { min: 2, points: 20 },
          { min: 4, points: 30 },
        ],
      },
      max_points: 30,
      min_points: 0,
      half_life_days: 14,
      explain: 'opened {value} support ticket{s} {window}',
    },
  ],
  disqualifiers: [],
};
