import type { CheckoutSession, CheckoutStatus, Offer } from '../../modules/checkout/index.ts';
import type { Plan } from '../../modules/catalog/index.ts';
import { esc, fmt, jsonForScript, type Page } from './html.ts';

/**
 * The hosted checkout page, in its four states: the card form (public plans), the "Contact
 * sales" form (contact-sales and quote-only plans), done, and expired.
 */
export interface CheckoutPageData {
  brand: string;
  session: CheckoutSession;
  status: CheckoutStatus;
  plan: Plan;
  offers: Offer[];
  /** `/checkout/<id>/…?token=…` base for the form actions. */
  actionBase: string;
  token: string;
}

const per = (i: string) => (i === 'year' ? 'year' : 'month');
const label = (i: string) => (i === 'year' ? 'Annual' : 'Monthly');

function summary(d: CheckoutPageData): string {
  const rows = (o: Offer) =>
    o.lines.map((l) => `<tr><td>${esc(l.description.replace(/ \(\d{4}-.*\)$/, ''))}</td><td class="n">${fmt(l.amount, d.plan.currency)}</td></tr>`).join('') +
    (o.hasUsage ? `<tr><td colspan="2" class="muted">Plus usage, billed at the end of each period.</td></tr>` : '');
  const toggle =
    d.offers.length > 1
      ? `<div class="seg" role="radiogroup" aria-label="Billing period">${d.offers
          .map((o) => `<label><input type="radio" name="interval" value="${o.interval}" form="pay" ${o.interval === d.session.defaultInterval ? 'checked' : ''}>${label(o.interval)}</label>`)
          .join('')}</div>`
      : `<input type="hidden" name="interval" value="${esc(d.offers[0]?.interval ?? 'month')}" form="pay"><p class="muted">Billed ${d.offers[0]?.interval === 'year' ? 'annually' : 'monthly'}</p>`;
  return `<div class="card"><h2>${esc(d.plan.name)}</h2>${d.plan.description ? `<p class="lead">${esc(d.plan.description)}</p>` : ''}
  ${toggle}
  ${d.offers
    .map(
      (o) => `<div class="offer" data-interval="${o.interval}" data-label="${d.plan.trialDays > 0 ? 'Start your free trial' : `Pay ${fmt(o.dueToday, d.plan.currency)} and subscribe`}" ${o.interval === d.session.defaultInterval ? '' : 'hidden'}>
    <p><span class="big">${fmt(o.lines.reduce((s, l) => s + l.amount, 0), d.plan.currency)}</span> <span class="muted">/ ${per(o.interval)}</span></p>
    <table><tbody>${rows(o)}<tr class="total"><td>Due today</td><td class="n" data-due>${fmt(o.dueToday, d.plan.currency)}</td></tr></tbody></table>
    ${d.plan.trialDays > 0 ? `<p class="muted">${d.plan.trialDays}-day free trial: your card is charged when it ends.</p>` : ''}
  </div>`,
    )
    .join('')}</div>`;
}

function payForm(d: CheckoutPageData): string {
  const s = d.session;
  const failed = s.lastErrorMessage ? `<div class="alert error" role="alert">${esc(s.lastErrorMessage)}</div>` : '<div class="alert"></div>';
  return `<form id="pay" class="card" data-post action="${esc(d.actionBase)}/complete?token=${esc(d.token)}" autocomplete="on">
  <h2>Your details</h2>
  <label for="email">Work email</label><input id="email" name="email" type="email" required autocomplete="email" value="${esc(s.customerEmail ?? '')}">
  <label for="name">Your name</label><input id="name" name="name" autocomplete="name">
  <label for="company">Company</label><input id="company" name="company" autocomplete="organization" placeholder="Needed if your company is new to us">
  <h2 style="margin-top:20px">Card</h2>
  <label for="card-number">Card number</label><input id="card-number" name="card.number" inputmode="numeric" autocomplete="cc-number" placeholder="4242 4242 4242 4242" required>
  <div class="row"><div><label for="card-exp">Expiry (MM/YY)</label><input id="card-exp" name="card.exp" autocomplete="cc-exp" placeholder="12/30" required></div>
  <div><label for="card-cvc">CVC</label><input id="card-cvc" name="card.cvc" inputmode="numeric" autocomplete="cc-csc" placeholder="123" required></div></div>
  ${failed}
  <button type="submit" class="wide" id="pay-button">Subscribe</button>
  <p class="muted" style="text-align:center"><a href="${esc(s.cancelUrl)}">Cancel and go back</a></p>
</form>`;
}

function contactForm(d: CheckoutPageData): string {
  return `<form id="contact" class="card" data-post action="${esc(d.actionBase)}/contact_sales?token=${esc(d.token)}">
  <h2>Contact sales</h2><p class="muted">${esc(d.plan.name)} is priced for your team by our sales team. Tell us how to reach you.</p>
  <label for="email">Work email</label><input id="email" name="email" type="email" required value="${esc(d.session.customerEmail ?? '')}">
  <label for="name">Your name</label><input id="name" name="name">
  <label for="company">Company</label><input id="company" name="company">
  <label for="message">What do you need?</label><textarea id="message" name="message" rows="4"></textarea>
  <div class="alert"></div>
  <button type="submit" class="wide">Contact sales</button>
  <p class="muted" style="text-align:center"><a href="${esc(d.session.cancelUrl)}">Go back</a></p>
</form>`;
}

const SCRIPT = `
const offers = document.querySelectorAll('.offer');
const btn = document.getElementById('pay-button');
function sync() {
  const picked = document.querySelector('input[name=interval]:checked') || document.querySelector('input[name=interval]');
  if (!picked) return;
  for (const o of offers) { const on = o.dataset.interval === picked.value; o.hidden = !on; if (on && btn) btn.textContent = o.dataset.label; }
}
for (const r of document.querySelectorAll('input[name=interval]')) r.addEventListener('change', sync);
sync();
`;

export function checkoutPage(d: CheckoutPageData): Page {
  const base = { title: `Subscribe to ${d.plan.name}`, brand: d.brand, tag: 'Checkout' };
  if (d.status === 'complete') {
    const sales = d.session.mode === 'contact_sales';
    const next = sales ? d.session.cancelUrl : d.session.successUrl.replace('{CHECKOUT_SESSION_ID}', d.session.id);
    return {
      ...base,
      body: `<div class="card"><h1>${sales ? 'Thanks — we will be in touch' : 'You are subscribed'}</h1><p class="lead">${
        sales ? `Our sales team has your request about ${esc(d.plan.name)}.` : `Your ${esc(d.plan.name)} subscription is active and your first invoice is paid.`
      }</p><a class="button" href="${esc(next)}">Continue</a></div>`,
    };
  }
  if (d.status === 'expired') {
    return { ...base, body: `<div class="card"><h1>This checkout link has expired</h1><p class="lead">Nothing was charged. Start again from the pricing page.</p><a class="button secondary" href="${esc(d.session.cancelUrl)}">Go back</a></div>` };
  }
  if (d.session.mode === 'contact_sales') {
    return { ...base, title: `${d.plan.name} — contact sales`, body: `<h1>${esc(d.plan.name)}</h1><p class="lead">Talk to us about pricing for your team.</p><div class="grid"><div class="card"><h2>${esc(d.plan.name)}</h2><p>${esc(d.plan.description ?? 'Custom pricing, invoicing on Net terms, a dedicated team.')}</p></div>${contactForm(d)}</div>` };
  }
  return { ...base, body: `<h1>Subscribe to ${esc(d.plan.name)}</h1><p class="lead">Pick how you want to be billed and pay by card.</p><div class="grid">${summary(d)}${payForm(d)}</div>`, script: SCRIPT + `window.__checkout=${jsonForScript({ id: d.session.id })};` };
}
