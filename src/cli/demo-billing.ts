import { DAY_MS } from '../kernel/dates.ts';
import type { CatalogIds } from './demo-catalog.ts';
import type { DemoApi } from './demo-client.ts';
import { STEPS_PER_MONTH, STORY, type DemoAccount } from './demo-company.ts';

/**
 * The demo's money side, through the billing, payments and quotes API. Each action first looks
 * at what exists (cards, subscriptions, quotes, invoice states), so a rerun — or a build resumed
 * after an interruption — does each thing once.
 */

const GOOD_CARDS = ['4242424242424242', '5555555555554444'];
/** Saves fine, every charge is declined (card_declined): the dunning story. */
export const DECLINING_CARD = '4000000000000341';

export interface BillingState {
  /** account id → its subscriptions (newest first, as listed). */
  subscriptions: Map<string, any[]>;
}

export async function loadBillingState(api: DemoApi): Promise<BillingState> {
  const subscriptions = new Map<string, any[]>();
  for (const s of await api.list('/v1/subscriptions')) {
    const list = subscriptions.get(s.account) ?? [];
    list.push(s);
    subscriptions.set(s.account, list);
  }
  return { subscriptions };
}

const card = (number: string, expYear: number) => ({ number, exp_month: 12, exp_year: expYear, cvc: '123' });

/** A new customer: a card on file (unless on Free or paying by invoice) and a subscription. */
export async function onboard(api: DemoApi, a: DemoAccount, accountId: string, state: BillingState, clock: Date): Promise<void> {
  if (state.subscriptions.get(accountId)?.length) return;
  if (a.collection === 'card') {
    const cards = await api.list(`/v1/payment_methods?account=${accountId}`);
    if (cards.length === 0) {
      await api.post('/v1/payment_methods', { account: accountId, type: 'card', card: card(GOOD_CARDS[a.index % 2]!, clock.getUTCFullYear() + 4), default: true }, { idempotencyKey: `demo-pm-${a.groupId}` });
    }
  }
  const body: Record<string, unknown> = { account: accountId, plan: a.plan, interval: a.interval, quantity: a.seats, metadata: { source: a.plan === 'business' ? 'sales_assisted' : 'self_serve' } };
  if (a.collection === 'invoice') Object.assign(body, { collection_method: 'send_invoice', days_until_due: 30 });
  if (a.index === STORY.dunning) body.dunning_final_action = 'past_due';
  const sub = await api.post('/v1/subscriptions', body, { idempotencyKey: `demo-sub-${a.groupId}` });
  state.subscriptions.set(accountId, [sub]);
}

/**
 * The scripted stories that happen at a given step (see demo-company.ts). `step` counts from 0
 * at the clock start, STEPS_PER_MONTH per month; `totalSteps` is months × STEPS_PER_MONTH.
 */
export async function storiesAt(
  api: DemoApi,
  input: { step: number; totalSteps: number; clock: Date; accounts: DemoAccount[]; ids: Map<string, string>; state: BillingState; catalog: CatalogIds },
): Promise<string[]> {
  const { step, totalSteps, clock, state } = input;
  const done: string[] = [];
  const story = (index: number) => {
    const a = input.accounts[index];
    const id = a ? input.ids.get(a.groupId) : undefined;
    const sub = id ? state.subscriptions.get(id)?.[0] : undefined;
    return a && id && sub ? { a, id, sub } : null;
  };
  const months = totalSteps / STEPS_PER_MONTH;

  // Expansion: the team adds three seats in the second month (prorated now).
  const expansion = story(STORY.expansion);
  if (expansion && months >= 2 && step === STEPS_PER_MONTH + 1 && expansion.sub.quantity === expansion.a.seats) {
    state.subscriptions.set(expansion.id, [await api.post(`/v1/subscriptions/${expansion.sub.id}/change`, { quantity: expansion.a.seats + 3 }, { idempotencyKey: `demo-expand-${expansion.a.groupId}` })]);
    done.push(`${expansion.a.name} added 3 seats`);
  }

  // In-app upgrade: Starter → Pro in the second month, prorated.
  const upgrade = story(STORY.upgrade);
  if (upgrade && months >= 2 && step === STEPS_PER_MONTH + 1 && upgrade.sub.plan === input.catalog.plans.starter.id) {
    const seats = upgrade.a.users.filter((u) => u.joinStep <= step).length;
    state.subscriptions.set(upgrade.id, [await api.post(`/v1/subscriptions/${upgrade.sub.id}/change`, { plan: 'pro', quantity: Math.max(3, seats) }, { idempotencyKey: `demo-upgrade-${upgrade.a.groupId}` })]);
    done.push(`${upgrade.a.name} upgraded Starter → Pro`);
  }

  // Dunning: at the start of the last month the customer's only valid card is replaced by one
  // that declines, so the next renewal fails and is retried (days 1, 3, 5) before going past due.
  const dunning = story(STORY.dunning);
  if (dunning && months >= 2 && step === totalSteps - STEPS_PER_MONTH) {
    const cards = await api.list(`/v1/payment_methods?account=${dunning.id}`);
    let declining = cards.find((c) => c.card?.last4 === DECLINING_CARD.slice(-4) && c.status === 'active');
    if (!declining) {
      declining = await api.post('/v1/payment_methods', { account: dunning.id, type: 'card', card: card(DECLINING_CARD, clock.getUTCFullYear() + 3), default: true }, { idempotencyKey: `demo-pm-declining-${dunning.a.groupId}` });
    }
    if (dunning.sub.payment_method !== declining.id) {
      state.subscriptions.set(dunning.id, [await api.post(`/v1/subscriptions/${dunning.sub.id}/change`, { payment_method: declining.id }, { idempotencyKey: `demo-switch-card-${dunning.a.groupId}` })]);
      done.push(`${dunning.a.name} switched to a card that will decline`);
    }
  }

  // Net 30: the finance team pays each invoice by bank transfer about three weeks after it is issued.
  const net = story(STORY.netTerms);
  if (net) {
    for (const inv of await api.list(`/v1/invoices?account=${net.id}&status=open`)) {
      if (!inv.finalized_at || clock.getTime() - Date.parse(inv.finalized_at) < 20 * DAY_MS) continue;
      await api.post(`/v1/invoices/${inv.id}/pay`, { paid_out_of_band: true, method: 'bank_transfer', reference: `WIRE-${inv.number ?? inv.id}` }, { idempotencyKey: `demo-pay-${inv.id}` });
      done.push(`${net.a.name} paid ${inv.number} by bank transfer`);
    }
  }

  // Enterprise: the evaluator gets a two-year quote, 150 seats, 12% off, Net 30; sent for signature.
  const ent = story(STORY.quote);
  if (ent && step === Math.max(ent.a.signupStep + 1, totalSteps - 2)) done.push(...(await ensureQuote(api, ent.id, ent.a)));
  return done;
}

async function ensureQuote(api: DemoApi, accountId: string, a: DemoAccount): Promise<string[]> {
  const done: string[] = [];
  let [quote] = await api.list(`/v1/quotes?account=${accountId}`);
  if (!quote) {
    quote = await api.post(
      '/v1/quotes',
      {
        account: accountId,
        plan: 'enterprise',
        interval: 'year',
        quantity: 150,
        term_months: 24,
        payment_terms: { method: 'invoice', net_days: 30 },
        discount: { type: 'percent', percent: '12' },
        memo: `Enterprise agreement for ${a.name}: SSO, SCIM and audit log for every team; security review in progress.`,
      },
      { idempotencyKey: `demo-quote-${a.groupId}` },
    );
    done.push(`quote ${quote.number} drafted for ${a.name}`);
  }
  if (quote.status === 'draft') quote = await api.post(`/v1/quotes/${quote.id}/submit`, {}, { idempotencyKey: `demo-quote-submit-${quote.id}` });
  if (quote.status === 'pending_approval') {
    const rules = await api.get('/v1/quotes/approval_rules');
    quote = await api.post(`/v1/quotes/${quote.id}/approve`, { role: rules.approver_role, name: 'Dana Whitfield', note: 'Two-year term justifies the discount.' }, { idempotencyKey: `demo-quote-approve-${quote.id}` });
    done.push(`quote ${quote.number} approved (${rules.approver_role})`);
  }
  if (quote.status === 'approved') {
    quote = await api.post(`/v1/quotes/${quote.id}/send`, {}, { idempotencyKey: `demo-quote-send-${quote.id}` });
    done.push(`quote ${quote.number} sent`);
  }
  return done;
}
