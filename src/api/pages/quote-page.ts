import type { PreviewView, Quote } from '../../modules/quotes/index.ts';
import { day, esc, fmt, type Page } from './html.ts';

/** The quote's share page: the offer, the first invoice, and acceptance by typed name and title. */
export interface QuotePageData {
  brand: string;
  customer: string;
  quote: Quote;
  preview: PreviewView | null;
  /** `/quotes/view/<token>`. */
  base: string;
  /** Card terms and no card on file: the acceptance form asks for one. */
  needsCard: boolean;
  expired: boolean;
}

function offer(d: QuotePageData): string {
  const q = d.quote;
  const p = d.preview!;
  const m = (a: number | null) => (a === null ? '' : fmt(a, q.currency));
  const lines = p.lines
    .map((l) =>
      l.type === 'usage'
        ? `<tr><td>${esc(l.description)}<div class="muted">Usage, billed at the end of each period at list rates</div></td><td></td><td></td><td></td></tr>`
        : `<tr><td>${esc(l.description)}${l.type === 'per_seat' ? ` <span class="muted">× ${l.quantity} seats</span>` : ''}</td><td class="n muted">${m(l.list_unit_amount)}</td><td class="n">${m(l.unit_amount)}</td><td class="n">${m(l.amount)}</td></tr>`,
    )
    .join('');
  const per = q.interval === 'year' ? 'year' : 'month';
  const sums = [
    ['List price', `${m(p.per_period.list)} / ${per}`],
    ...(p.per_period.discount ? [['Your discount', `−${m(p.per_period.discount)} / ${per}`]] : []),
    ['Your price', `${m(p.per_period.net)} / ${per}`],
    ...(p.free_months_credit ? [[`${q.freeMonths} free month${q.freeMonths === 1 ? '' : 's'}`, `−${m(p.free_months_credit)}`]] : []),
    [`Total for ${q.termMonths} months`, m(p.total_contract_value)],
  ]
    .map(([k, v], i, all) => `<tr class="${i === all.length - 1 ? 'total' : ''}"><td colspan="3">${k}</td><td class="n">${v}</td></tr>`)
    .join('');
  return `<div class="card"><h2>${esc(p.plan_name)}</h2><table><thead><tr><th>Item</th><th class="n">List</th><th class="n">Your price</th><th class="n">Per ${per}</th></tr></thead><tbody>${lines}${sums}</tbody></table></div>`;
}

function terms(d: QuotePageData): string {
  const q = d.quote;
  const p = d.preview!;
  const fi = p.first_invoice;
  const start =
    p.contract.type === 'amendment'
      ? `${day(p.contract.start)} — when your current subscription renews; nothing changes before then`
      : q.startDate || q.status !== 'sent'
        ? day(p.contract.start)
        : `When you accept (${day(p.contract.start)})`;
  const pay = q.collectionMethod === 'send_invoice' ? `Invoice, Net ${q.daysUntilDue}` : 'Card, charged automatically';
  return `<div class="card" id="terms"><h2>Terms</h2><table><tbody>
  <tr><td>Contract starts</td><td class="n">${start}</td></tr>
  <tr><td>Term</td><td class="n">${q.termMonths} months, billed ${q.interval === 'year' ? 'annually' : 'monthly'}</td></tr>
  <tr><td>Payment</td><td class="n">${pay}</td></tr>
  <tr><td>Valid until</td><td class="n">${day(q.expiresAt)}</td></tr>
  </tbody></table>
  <h2 style="margin-top:18px">Your first invoice</h2><table><tbody>
  ${fi.lines.map((l) => `<tr><td>${esc(l.description)}</td><td class="n">${fmt(l.amount, q.currency)}</td></tr>`).join('')}
  ${fi.balance_applied ? `<tr><td>${q.freeMonths ? 'Free months and credit' : 'Credit'} applied</td><td class="n">−${fmt(fi.balance_applied, q.currency)}</td></tr>` : ''}
  <tr class="total"><td>Due ${day(fi.due_date)}</td><td class="n" id="first-invoice-due">${fmt(fi.amount_due, q.currency)}</td></tr>
  </tbody></table>${q.memo ? `<p class="muted">${esc(q.memo)}</p>` : ''}</div>`;
}

function acceptForm(d: QuotePageData): string {
  const card = d.needsCard
    ? `<label for="card-number">Card</label><input id="card-number" name="card.number" inputmode="numeric" placeholder="Card number" required><div class="row"><input name="card.exp" placeholder="MM/YY" required><input name="card.cvc" placeholder="CVC" required></div>`
    : '';
  return `<form data-post action="${esc(d.base)}/accept" class="card" id="accept"><h2>Accept this quote</h2>
  <p class="muted">Typing your name and title and pressing Accept signs this order on behalf of ${esc(d.customer)}. We record the time and your IP address.</p>
  <label for="sig-name">Full name</label><input id="sig-name" name="name" required autocomplete="name">
  <label for="sig-title">Title</label><input id="sig-title" name="title" required autocomplete="organization-title">
  ${card}<div class="alert"></div><button type="submit" class="wide">Accept and sign</button></form>
  <form data-post action="${esc(d.base)}/decline" class="card" id="decline"><label for="reason">Not right for you? Tell us why (optional)</label><input id="reason" name="reason"><div class="alert"></div><button type="submit" class="secondary" style="margin-top:10px">Decline</button></form>`;
}

function outcome(d: QuotePageData): string {
  const q = d.quote;
  const a = q.acceptance as { name?: string; title?: string; accepted_at?: string } | null;
  if (q.status === 'accepted' || q.status === 'converted') {
    const start = d.preview ? day(d.preview.contract.start) : day(q.contractStart);
    return `<div class="card" id="accepted"><h2>Accepted <span class="pill good">signed</span></h2><p>Accepted by <strong>${esc(a?.name)}</strong>, ${esc(a?.title)}, on ${day(a?.accepted_at)}.</p><p class="muted">Your subscription on these terms starts on ${start}.</p></div>`;
  }
  if (q.status === 'declined') return `<div class="card"><h2>Declined</h2><p class="muted">This quote was declined${q.declineReason ? `: ${esc(q.declineReason)}` : ''}. Contact your account manager for a new one.</p></div>`;
  return `<div class="card"><h2>This quote has expired</h2><p class="muted">It was valid until ${day(q.expiresAt)}. Ask your account manager for an updated quote.</p></div>`;
}

export function quotePage(d: QuotePageData): Page {
  const q = d.quote;
  const statusPill = { sent: '', accepted: 'good', converted: 'good', declined: 'bad', expired: 'bad' }[q.status] ?? '';
  const head = `<h1>Quote ${esc(q.number)} <span class="pill ${statusPill}">${esc(q.status === 'converted' ? 'accepted' : d.expired ? 'expired' : q.status)}</span></h1>
  <p class="lead">From ${esc(d.brand)} for ${esc(d.customer)} · <a href="${esc(d.base)}/pdf">Download PDF</a></p><div id="notice" class="alert"></div>`;
  if (!d.preview) return { title: `Quote ${q.number}`, brand: d.brand, tag: 'Quote', body: `${head}<div class="card"><p>This quote cannot be shown right now. Contact your account manager.</p></div>` };
  const open = q.status === 'sent' && !d.expired;
  const side = open ? acceptForm(d) : outcome({ ...d, quote: d.expired && q.status === 'sent' ? { ...q, status: 'expired' } : q });
  return { title: `Quote ${q.number}`, brand: d.brand, tag: 'Quote', body: `${head}<div class="grid"><div>${offer(d)}${terms(d)}</div><div>${side}</div></div>` };
}
