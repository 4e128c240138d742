import type { PortalSession, PortalState } from '../../modules/checkout/index.ts';
import { day, esc, fmt, type Page } from './html.ts';

/** The customer portal page: plan, usage against limits, next invoice, plan changes, seats, payment, invoices. */
export interface PortalPageData {
  brand: string;
  state: PortalState;
  session: PortalSession;
  /** `/portal/<token>`: form actions and PDF links hang off it. */
  base: string;
}

const STATUS_PILL: Record<string, string> = { active: 'good', trialing: 'good', past_due: 'bad', unpaid: 'bad', canceled: 'bad' };

function describeChange(c: Record<string, unknown>, plans: PortalState['options']): string {
  const parts: string[] = [];
  if (c.planId) parts.push(`moves to ${esc(plans.find((o) => o.plan.id === c.planId)?.plan.name ?? 'another plan')}`);
  if (c.interval) parts.push(`billed ${c.interval === 'year' ? 'annually' : 'monthly'}`);
  if (c.quantity) parts.push(`${esc(c.quantity)} seats`);
  if (c.collectionMethod) parts.push(c.collectionMethod === 'send_invoice' ? `paid by invoice, Net ${esc(c.daysUntilDue ?? 30)}` : 'paid by card');
  if (c.priceOverrides) parts.push('at your negotiated prices');
  return parts.join(', ') || 'changes';
}

function current(d: PortalPageData): string {
  const { state: s } = d;
  const sub = s.subscription!;
  const pay = sub.collectionMethod === 'send_invoice' ? `Invoice, Net ${sub.daysUntilDue}` : s.card ? `${esc(s.card.card?.brand ?? 'Card')} •••• ${esc(s.card.card?.last4 ?? '')}` : 'Card (none on file)';
  const pending = s.pending.map((p) => `<li>On ${day(p.effectiveAt)}: ${describeChange(p.change, s.options)}.</li>`).join('');
  return `<div class="card" id="current-plan"><h2>Current plan</h2>
  <p><span class="big">${esc(s.plan!.name)}</span> <span class="pill ${STATUS_PILL[sub.status] ?? ''}">${esc(sub.status.replace('_', ' '))}</span></p>
  <table><tbody>
    <tr><td>Billing</td><td class="n">${sub.interval === 'year' ? 'Annual' : 'Monthly'}${sub.quantity > 1 ? ` · ${sub.quantity} seats` : ''}</td></tr>
    <tr><td>${sub.status === 'scheduled' ? 'Starts' : sub.cancelAtPeriodEnd ? 'Ends' : 'Renews'}</td><td class="n">${day(sub.status === 'scheduled' ? sub.currentPeriodStart : sub.currentPeriodEnd)}</td></tr>
    <tr><td>Payment</td><td class="n" id="payment-method">${pay}</td></tr>
  </tbody></table>
  ${pending ? `<p class="muted" style="margin-top:12px">Scheduled:</p><ul class="muted" id="pending">${pending}</ul>` : ''}
  ${sub.cancelAtPeriodEnd ? `<div class="alert error">Your subscription is set to end on ${day(sub.currentPeriodEnd)}.</div>` : ''}
</div>`;
}

function usage(d: PortalPageData): string {
  const s = d.state;
  const usageLines = (s.upcoming?.lines ?? []).filter((l) => l.kind === 'usage');
  if (!s.usage.length && !usageLines.length) return '';
  const rows = s.usage
    .map(
      (u) => `<div style="margin-bottom:12px"><div class="row"><strong>${esc(u.feature)}</strong><span class="n muted">${esc(u.used)}${u.limit !== null ? ` of ${u.limit}` : ' (unlimited)'}</span></div>
      ${u.percent !== null ? `<div class="meter" aria-label="${esc(u.feature)} used"><i style="width:${Math.min(100, u.percent)}%"></i></div>` : ''}</div>`,
    )
    .join('');
  const lines = usageLines.map((l) => `<tr><td>${esc(l.description)}</td><td class="n">${fmt(l.amount, s.subscription!.currency)}</td></tr>`).join('');
  return `<div class="card" id="usage"><h2>Usage this period</h2>${rows}${lines ? `<table><tbody>${lines}</tbody></table><p class="muted">Usage is billed at the end of the period.</p>` : ''}</div>`;
}

function upcoming(d: PortalPageData): string {
  const u = d.state.upcoming;
  if (!u) return '';
  const cur = d.state.subscription!.currency;
  return `<div class="card" id="next-invoice"><h2>Next invoice · ${day(u.date)}</h2><table><tbody>${u.lines
    .map((l) => `<tr><td>${esc(l.description)}</td><td class="n">${fmt(l.amount, cur)}</td></tr>`)
    .join('')}<tr class="total"><td>Amount due</td><td class="n">${fmt(u.amountDue, cur)}</td></tr></tbody></table></div>`;
}

function plans(d: PortalPageData): string {
  const s = d.state;
  const sub = s.subscription!;
  const cards = s.options
    .map((o) => {
      const price = o.action !== 'switch' ? '<span class="muted">Custom pricing</span>' : o.perMonth !== null ? `${fmt(o.perMonth, o.plan.currency)}<span class="muted"> / month</span>` : o.perYear !== null ? `${fmt(o.perYear, o.plan.currency)}<span class="muted"> / year</span>` : '<span class="muted">Custom pricing</span>';
      let act = '';
      if (o.current) act = '<span class="pill good">Your plan</span>';
      else if (o.action === 'switch') act = `<form data-post action="${esc(d.base)}/plan"><input type="hidden" name="plan" value="${esc(o.plan.key)}"><div class="alert"></div><button type="submit">Switch to ${esc(o.plan.name)}</button></form>`;
      else if (o.action === 'request_quote') act = `<form data-post action="${esc(d.base)}/plan"><input type="hidden" name="plan" value="${esc(o.plan.key)}"><div class="alert"></div><button type="submit" class="secondary">Request a quote</button></form>`;
      else
        act = `<form data-post action="${esc(d.base)}/contact_sales"><input type="hidden" name="plan" value="${esc(o.plan.key)}"><label>Your email</label><input name="email" type="email" required><div class="alert"></div><button type="submit" class="secondary">Contact sales</button></form>`;
      return `<div class="plan${o.current ? ' current' : ''}" data-plan="${esc(o.plan.key)}"><strong>${esc(o.plan.name)}</strong><div class="price">${price}</div>${act}</div>`;
    })
    .join('');
  const seats = s.version!.prices.some((p) => p.type === 'per_seat' && p.interval === sub.interval)
    ? `<form data-post action="${esc(d.base)}/seats" style="margin-top:18px"><label for="seats">Seats</label><div class="row"><input id="seats" name="quantity" type="number" min="1" data-type="int" value="${sub.quantity}"><button type="submit" class="secondary">Update seats</button></div><div class="alert"></div></form>`
    : '';
  return `<div class="card" id="plans"><h2>Change plan</h2><p class="muted">Upgrades apply now and are charged pro rata; downgrades apply at renewal.</p><div class="plans">${cards}</div>${seats}</div>`;
}

function billing(d: PortalPageData): string {
  const s = d.state;
  const sub = s.subscription!;
  const parts: string[] = [];
  if (s.payment.invoice && sub.collectionMethod !== 'send_invoice') {
    parts.push(`<form data-post action="${esc(d.base)}/payment_method" id="switch-invoice"><input type="hidden" name="method" value="invoice"><label for="net">Pay by invoice</label>
    <div class="row"><select id="net" name="net_days" data-type="int">${s.payment.netTermsDays.map((n) => `<option value="${n}">Net ${n}</option>`).join('')}</select><button type="submit" class="secondary">Switch to invoice billing</button></div><div class="alert"></div></form>`);
  }
  if (s.payment.card) {
    parts.push(`<form data-post action="${esc(d.base)}/payment_method" id="switch-card" style="margin-top:16px"><input type="hidden" name="method" value="card"><label>${sub.collectionMethod === 'send_invoice' ? 'Pay by card instead' : 'Update your card'}</label>
    <input name="card.number" inputmode="numeric" placeholder="Card number" autocomplete="cc-number" required><div class="row"><input name="card.exp" placeholder="MM/YY" required><input name="card.cvc" placeholder="CVC" required></div>
    <div class="alert"></div><button type="submit" class="secondary" style="margin-top:8px">Save card</button></form>`);
  }
  if (s.annualOffer) {
    parts.push(`<form data-post action="${esc(d.base)}/annual" id="go-annual" style="margin-top:16px"><label>Annual billing</label><p class="muted">${fmt(s.annualOffer.perYear, sub.currency)} a year instead of ${fmt(s.annualOffer.listPerYear, sub.currency)} — ${esc(s.annualOffer.percent)}% off for committing to a year.</p><div class="alert"></div><button type="submit" class="secondary">Switch to annual</button></form>`);
  }
  parts.push(
    sub.cancelAtPeriodEnd
      ? `<form data-post action="${esc(d.base)}/resume" style="margin-top:16px"><div class="alert"></div><button type="submit">Keep my subscription</button></form>`
      : `<form data-post action="${esc(d.base)}/cancel" style="margin-top:16px" id="cancel"><div class="alert"></div><button type="submit" class="danger">Cancel at the end of the period</button></form>`,
  );
  return `<div class="card" id="billing"><h2>Payment and billing</h2>${parts.join('')}</div>`;
}

function invoices(d: PortalPageData): string {
  const s = d.state;
  if (!s.invoices.length) return `<div class="card" id="invoices"><h2>Invoices</h2><p class="muted">No invoices yet.</p></div>`;
  const rows = s.invoices
    .map(
      (i) =>
        `<tr><td>${esc(i.number)}</td><td>${day(i.finalizedAt ?? i.createdAt)}</td><td class="n">${fmt(i.total, i.currency)}</td><td><span class="pill ${i.status === 'paid' ? 'good' : i.status === 'open' && i.overdueAt ? 'bad' : ''}">${esc(i.status)}</span></td><td class="n"><a href="${esc(d.base)}/invoices/${esc(i.id)}.pdf">PDF</a></td></tr>`,
    )
    .join('');
  return `<div class="card" id="invoices"><h2>Invoices</h2><table><thead><tr><th>Number</th><th>Date</th><th class="n">Total</th><th>Status</th><th></th></tr></thead><tbody>${rows}</tbody></table></div>`;
}

export function portalPage(d: PortalPageData): Page {
  const name = d.state.account.name ?? 'your account';
  const back = `<a class="button secondary" href="${esc(d.session.returnUrl)}">← Back</a>`;
  const head = `<div class="row" style="align-items:center"><div><h1>Billing for ${esc(name)}</h1><p class="lead">Manage your plan, payment and invoices.</p></div><div class="n">${back}</div></div><div id="notice" class="alert"></div>`;
  if (!d.state.subscription) return { title: 'Billing', brand: d.brand, tag: 'Billing portal', body: `${head}<div class="card"><h2>No subscription</h2><p class="muted">There is no active subscription on this account.</p></div>${invoices(d)}` };
  return {
    title: 'Billing',
    brand: d.brand,
    tag: 'Billing portal',
    body: `${head}<div class="grid"><div>${current(d)}${usage(d)}${upcoming(d)}</div><div>${billing(d)}</div></div>${plans(d)}${invoices(d)}`,
  };
}
