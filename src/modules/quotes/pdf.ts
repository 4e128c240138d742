import PDFDocument from 'pdfkit';
import { format, money } from '../../kernel/money.ts';
import type { Quote } from './quotes.ts';
import type { PreviewView } from './views.ts';

/**
 * The quote as a PDF (pdfkit): the same figures the API and the share page show — the lines,
 * per-period totals, free months, total contract value, the first invoice as billing will
 * compute it, the terms, and the acceptance once signed. Nothing is recomputed here.
 */
const day = (s: string | Date | null | undefined) => (s ? new Date(s).toISOString().slice(0, 10) : '—');

export function quotePdf(q: Quote, preview: PreviewView | null, parties: { seller: string; customer: string }): Promise<Buffer> {
  const m = (amount: number) => format(money(amount, q.currency));
  return new Promise((resolve, reject) => {
    const doc = new PDFDocument({ size: 'A4', margin: 50, info: { Title: `Quote ${q.number}`, Author: parties.seller } });
    const chunks: Buffer[] = [];
    doc.on('data', (c: Buffer) => chunks.push(c));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
    doc.fontSize(20).text(`Quote ${q.number}`);
    doc.fontSize(10).fillColor('#555').text(`Status: ${q.status}    Valid until ${day(q.expiresAt)}`);
    doc.moveDown();
    doc.fillColor('#000').fontSize(11).text(`From: ${parties.seller}`);
    doc.text(`For: ${parties.customer} (${q.accountId})`);
    const terms = q.collectionMethod === 'send_invoice' ? `Invoice, Net ${q.daysUntilDue}` : 'Card, charged automatically';
    doc.text(`Plan: ${preview?.plan_name ?? q.planId} — billed ${q.interval === 'year' ? 'annually' : 'monthly'}, ${q.quantity} seat${q.quantity === 1 ? '' : 's'}`);
    doc.text(`Term: ${q.termMonths} months    Payment: ${terms}`);
    if (preview) doc.text(`Contract start: ${day(preview.contract.start)}${preview.contract.type === 'amendment' ? ' (at the renewal of the current subscription)' : ''}`);
    doc.moveDown();
    if (!preview) {
      doc.text('The pricing of this quote is not available.');
      doc.end();
      return;
    }
    const x = { desc: 50, list: 300, unit: 380, amt: 460 };
    let y = doc.y;
    doc.fontSize(10).text('Item', x.desc, y).text('List', x.list, y, { width: 70, align: 'right' }).text('Your price', x.unit, y, { width: 70, align: 'right' }).text('Per period', x.amt, y, { width: 85, align: 'right' });
    y = doc.y + 2;
    doc.moveTo(50, y).lineTo(545, y).stroke();
    y += 6;
    for (const l of preview.lines) {
      const desc = l.type === 'usage' ? `${l.description} — usage, billed in arrears at list rates` : `${l.description}${l.type === 'per_seat' ? ` × ${l.quantity} seats` : ''}`;
      const h = doc.heightOfString(desc, { width: 240 });
      doc.text(desc, x.desc, y, { width: 240 });
      if (l.type !== 'usage') {
        doc.text(m(l.list_unit_amount ?? 0), x.list, y, { width: 70, align: 'right' });
        doc.text(m(l.unit_amount ?? 0), x.unit, y, { width: 70, align: 'right' });
        doc.text(m(l.amount ?? 0), x.amt, y, { width: 85, align: 'right' });
      }
      y += Math.max(h, 12) + 6;
    }
    doc.moveTo(50, y).lineTo(545, y).stroke();
    y += 8;
    const rows: Array<[string, string]> = [
      ['List price per period', m(preview.per_period.list)],
      ['Discount per period', m(-preview.per_period.discount)],
      ['Your price per period', m(preview.per_period.net)],
    ];
    if (preview.free_months_credit) rows.push([`Free months (${q.freeMonths})`, m(-preview.free_months_credit)]);
    rows.push([`Total contract value (${preview.periods} period${preview.periods === 1 ? '' : 's'})`, m(preview.total_contract_value)]);
    for (const [k, v] of rows) {
      doc.text(k, 250, y, { width: 200 });
      doc.text(v, x.amt, y, { width: 85, align: 'right' });
      y += 16;
    }
    const fi = preview.first_invoice;
    doc.text(`First invoice (${day(fi.period_start)} – ${day(new Date(new Date(fi.period_end!).getTime() - 1))}): ${m(fi.total)}${fi.balance_applied ? `, less ${m(fi.balance_applied)} credit` : ''} → ${m(fi.amount_due)} due ${day(fi.due_date)}`, 50, y + 8, { width: 495 });
    if (q.memo) doc.moveDown().text(q.memo, { width: 495 });
    const a = q.acceptance as { name?: string; title?: string; accepted_at?: string; ip?: string } | null;
    if (a) doc.moveDown().fontSize(11).text(`Accepted by ${a.name}, ${a.title}, on ${a.accepted_at} from ${a.ip ?? 'unknown address'}.`, { width: 495 });
    doc.end();
  });
}
