import PDFDocument from 'pdfkit';
import { format, money } from '../../kernel/money.ts';
import type { Invoice, InvoiceLine } from './billing.ts';

/**
 * Invoice documents: HTML for the portal and e-mail, PDF for finance. Both print the same
 * numbers from the stored invoice and lines (never recomputed), so they always agree with the API.
 */
export interface Party {
  name: string;
  id: string;
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const day = (d: Date | null) => (d ? new Date(d).toISOString().slice(0, 10) : '—');
const m = (amount: number, currency: string) => format(money(amount, currency));

function summaryRows(inv: Invoice): Array<[string, string]> {
  const rows: Array<[string, string]> = [['Subtotal', m(inv.subtotal, inv.currency)]];
  if (inv.balanceApplied) rows.push(['Applied balance', `-${m(inv.balanceApplied, inv.currency)}`]);
  rows.push(['Total', m(inv.total, inv.currency)]);
  rows.push(['Amount due', m(inv.amountDue, inv.currency)]);
  if (inv.amountPaid) rows.push(['Amount paid', m(inv.amountPaid, inv.currency)]);
  if (inv.amountCredited) rows.push(['Credited', m(inv.amountCredited, inv.currency)]);
  rows.push(['Amount remaining', m(Math.max(0, inv.amountDue - inv.amountPaid - inv.amountCredited), inv.currency)]);
  return rows;
}

function terms(inv: Invoice): string {
  return inv.collectionMethod === 'send_invoice' ? `Net ${inv.daysUntilDue ?? 30} — pay by bank transfer by ${day(inv.dueAt)}` : 'Charged to the card on file';
}

export function invoiceHtml(inv: Invoice, lines: InvoiceLine[], seller: Party, customer: Party): string {
  const title = inv.number ? `Invoice ${inv.number}` : 'Draft invoice';
  const body = lines
    .map((l) => `<tr><td>${esc(l.description)}</td><td class="n">${esc(l.quantity)}</td><td class="n">${m(l.amount, l.currency)}</td></tr>`)
    .join('');
  const sums = summaryRows(inv)
    .map(([k, v]) => `<tr class="sum"><td colspan="2">${k}</td><td class="n">${v}</td></tr>`)
    .join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>body{font:14px/1.45 system-ui,sans-serif;max-width:760px;margin:40px auto;color:#1b1f24}table{width:100%;border-collapse:collapse}td,th{padding:6px 8px;border-bottom:1px solid #e4e7eb;text-align:left}.n{text-align:right;white-space:nowrap}.sum td{border:none}.status{display:inline-block;padding:2px 8px;border-radius:10px;background:#eef;font-size:12px;text-transform:uppercase}</style>
</head><body>
<h1>${esc(title)} <span class="status">${inv.status}</span></h1>
<p><strong>${esc(seller.name)}</strong> → <strong>${esc(customer.name)}</strong> (${esc(customer.id)})</p>
<p>Issued ${day(inv.finalizedAt ?? inv.createdAt)} · Due ${day(inv.dueAt)} · Period ${day(inv.periodStart)} – ${day(inv.periodEnd ? new Date(new Date(inv.periodEnd).getTime() - 1) : null)}<br>${esc(terms(inv))}</p>
<table><thead><tr><th>Description</th><th class="n">Qty</th><th class="n">Amount</th></tr></thead><tbody>${body}${sums}</tbody></table>
${inv.memo ? `<p>${esc(inv.memo)}</p>` : ''}
</body></html>`;
}

/** A real PDF (pdfkit): same content as the HTML. */
export function invoicePdf(inv: Invoice, lines: InvoiceLine[], seller: Party, customer: Party): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const doc = new PDFDocument({ size: 'A4', margin: 50, info: { Title: inv.number ? `Invoice ${inv.number}` : 'Draft invoice', Author: seller.name } });
    const chunks: Buffer[] = [];
    doc.on('data', (c: Buffer) => chunks.push(c));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
    doc.fontSize(20).text(inv.number ? `Invoice ${inv.number}` : 'Draft invoice');
    doc.fontSize(10).fillColor('#555').text(`Status: ${inv.status}`);
    doc.moveDown();
    doc.fillColor('#000').fontSize(11).text(`From: ${seller.name}`);
    doc.text(`To: ${customer.name} (${customer.id})`);
    doc.text(`Issued: ${day(inv.finalizedAt ?? inv.createdAt)}    Due: ${day(inv.dueAt)}`);
    doc.text(terms(inv));
    doc.moveDown();
    const x = { desc: 50, qty: 380, amt: 450 };
    doc.fontSize(10).text('Description', x.desc, doc.y, { continued: false });
    let y = doc.y;
    doc.moveTo(50, y + 2).lineTo(545, y + 2).stroke();
    y += 8;
    for (const l of lines) {
      const h = doc.heightOfString(l.description, { width: 320 });
      doc.text(l.description, x.desc, y, { width: 320 });
      doc.text(l.quantity, x.qty, y, { width: 60, align: 'right' });
      doc.text(m(l.amount, l.currency), x.amt, y, { width: 95, align: 'right' });
      y += Math.max(h, 12) + 6;
    }
    doc.moveTo(50, y).lineTo(545, y).stroke();
    y += 8;
    for (const [k, v] of summaryRows(inv)) {
      doc.text(k, x.qty - 120, y, { width: 180 });
      doc.text(v, x.amt, y, { width: 95, align: 'right' });
      y += 16;
    }
    if (inv.memo) doc.text(inv.memo, 50, y + 10, { width: 495 });
    doc.end();
  });
}
