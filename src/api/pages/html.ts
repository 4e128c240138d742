import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { format, money } from '../../kernel/money.ts';

/**
 * Hosted pages (checkout, portal, quote acceptance): server-rendered HTML with a little vanilla
 * JS, no build step. Everything interpolated goes through `esc`; data handed to scripts goes
 * through `jsonForScript`. Each response carries a strict Content-Security-Policy (scripts only
 * with this response's nonce), no referrer (the URL holds the page's token) and no caching.
 */
export const esc = (v: unknown): string =>
  String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** JSON safe inside <script>: no `</script>`, no HTML comment openers, no line separators. */
export const jsonForScript = (v: unknown): string =>
  JSON.stringify(v).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');

export const fmt = (amount: number, currency: string): string => format(money(amount, currency));
export const day = (d: Date | string | null | undefined): string => (d ? new Date(d).toISOString().slice(0, 10) : '—');

/** The base URL links are built on: TANDEM_PUBLIC_URL, else the request's own scheme and host. */
export function publicBase(request: FastifyRequest): string {
  const env = process.env.TANDEM_PUBLIC_URL;
  if (env) return env.replace(/\/+$/, '');
  return `${request.protocol}://${request.host}`;
}

const CSS = `
:root{--ink:#16181d;--muted:#5b6270;--line:#e3e6eb;--bg:#f6f7f9;--card:#fff;--accent:#3b5bdb;--accent-ink:#fff;--bad:#c92a2a;--good:#2b8a3e}
*{box-sizing:border-box}body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);background:var(--bg)}
main{max-width:980px;margin:0 auto;padding:32px 20px 64px}header.top{display:flex;justify-content:space-between;align-items:center;margin-bottom:24px}
header.top .brand{font-weight:700;font-size:18px}header.top .tag{color:var(--muted);font-size:13px}
h1{font-size:26px;margin:0 0 6px}h2{font-size:17px;margin:0 0 12px}p.lead{color:var(--muted);margin:0 0 20px}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:20px}@media(max-width:760px){.grid{grid-template-columns:1fr}}
.card{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:22px;margin-bottom:20px}
label{display:block;font-size:13px;font-weight:600;margin:12px 0 4px}input,select,textarea{width:100%;padding:10px 12px;border:1px solid #cfd4dc;border-radius:8px;font:inherit;background:#fff}
input:focus,select:focus,textarea:focus{outline:2px solid var(--accent);outline-offset:-1px}.row{display:flex;gap:10px}.row>*{flex:1}
button,.button{display:inline-block;border:0;border-radius:8px;padding:11px 16px;font:inherit;font-weight:600;cursor:pointer;background:var(--accent);color:var(--accent-ink);text-decoration:none}
button.secondary,.button.secondary{background:#eef1f6;color:var(--ink)}button.danger{background:#fff0f0;color:var(--bad)}button:disabled{opacity:.6;cursor:wait}
button.wide{width:100%;margin-top:18px;padding:13px}
.seg{display:flex;border:1px solid #cfd4dc;border-radius:9px;overflow:hidden}.seg label{flex:1;margin:0;text-align:center;padding:9px;cursor:pointer;font-weight:600}
.seg input{position:absolute;opacity:0;width:1px}.seg label:has(input:checked){background:var(--accent);color:#fff}
table{width:100%;border-collapse:collapse}td,th{padding:8px 6px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}th{font-size:12px;color:var(--muted);text-transform:uppercase;letter-spacing:.03em}
.n{text-align:right;white-space:nowrap}.total td{font-weight:700;border-bottom:0}.muted{color:var(--muted);font-size:13px}
.pill{display:inline-block;padding:2px 9px;border-radius:99px;background:#eef1f6;font-size:12px;font-weight:600;text-transform:uppercase;letter-spacing:.02em}
.pill.good{background:#e6f4ea;color:var(--good)}.pill.bad{background:#fdecec;color:var(--bad)}
.alert{padding:12px 14px;border-radius:8px;margin:14px 0;font-weight:500}.alert.error{background:#fdecec;color:var(--bad)}.alert.ok{background:#e6f4ea;color:var(--good)}
.alert:empty{display:none}.meter{height:8px;background:#eef1f6;border-radius:99px;overflow:hidden;margin-top:4px}.meter i{display:block;height:100%;background:var(--accent)}
.plans{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:12px}.plan{border:1px solid var(--line);border-radius:10px;padding:14px}
.plan.current{border-color:var(--accent);box-shadow:0 0 0 1px var(--accent)}.plan .price{font-size:20px;font-weight:700;margin:6px 0}
.big{font-size:30px;font-weight:700}footer{margin-top:28px;color:var(--muted);font-size:12px;text-align:center}
`;

/** Shared client script: forms marked data-post send JSON to their action and show errors inline. */
const CLIENT = `
async function post(url, body) {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  let j = null; try { j = await r.json(); } catch (e) {}
  if (!r.ok) throw new Error((j && j.error && j.error.message) || 'Something went wrong. Try again.');
  return j;
}
function formBody(form) {
  const out = {};
  for (const el of form.elements) {
    if (!el.name || el.disabled) continue;
    if ((el.type === 'radio' || el.type === 'checkbox') && !el.checked) continue;
    const path = el.name.split('.'); let o = out;
    for (let i = 0; i < path.length - 1; i++) o = o[path[i]] = o[path[i]] || {};
    o[path[path.length - 1]] = el.dataset.type === 'int' ? parseInt(el.value, 10) : el.value;
  }
  return out;
}
for (const form of document.querySelectorAll('form[data-post]')) {
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const out = form.querySelector('.alert') || document.getElementById('notice');
    const btn = form.querySelector('button[type=submit]');
    if (out) { out.textContent = ''; out.className = 'alert'; }
    if (btn) btn.disabled = true;
    try {
      const j = await post(form.getAttribute('action'), formBody(form));
      if (j && j.redirect_url) { window.location.assign(j.redirect_url); return; }
      if (j && j.message) sessionStorage.setItem('tandem-notice', j.message);
      window.location.reload();
    } catch (e) {
      if (out) { out.textContent = e.message; out.className = 'alert error'; out.setAttribute('role', 'alert'); }
      if (btn) btn.disabled = false;
    }
  });
}
const notice = sessionStorage.getItem('tandem-notice');
if (notice) { sessionStorage.removeItem('tandem-notice'); const n = document.getElementById('notice'); if (n) { n.textContent = notice; n.className = 'alert ok'; } }
`;

export interface Page {
  title: string;
  brand: string;
  tag?: string;
  body: string;
  /** Extra page-specific script (runs after the shared one). */
  script?: string;
}

export function renderPage(p: Page, nonce: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex"><title>${esc(p.title)} · ${esc(p.brand)}</title><style>${CSS}</style></head>
<body><main><header class="top"><div class="brand">${esc(p.brand)}</div><div class="tag">${esc(p.tag ?? '')}</div></header>
${p.body}
<footer>Secured by Tandem · this link is private to you</footer></main>
<script nonce="${nonce}">${CLIENT}${p.script ?? ''}</script></body></html>`;
}

export function sendPage(reply: FastifyReply, p: Page, status = 200) {
  const nonce = randomBytes(16).toString('base64');
  return reply
    .code(status)
    .type('text/html; charset=utf-8')
    .header('content-security-policy', `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`)
    .header('referrer-policy', 'no-referrer')
    .header('cache-control', 'no-store')
    .header('x-content-type-options', 'nosniff')
    .send(renderPage(p, nonce));
}

export function sendNotFound(reply: FastifyReply) {
  return sendPage(reply, { title: 'Link not found', brand: 'Tandem', body: `<div class="card"><h1>This link is not valid</h1><p class="lead">Check that you copied the whole link, or ask for a new one.</p></div>` }, 404);
}
