import type { CheckRequest } from './parse.ts';
import type { Answer, Ask } from './protocol.ts';

/**
 * The check process's answers: the JSON of each check it served, per (key, account, feature) as
 * sent, with how it may be served. Every answer comes from the API process (an `Ask`), which
 * builds it with the same functions as its own routes; this only keeps it. The rules, which
 * carry the API process's cache rules over (modules/entitlements/entitlements.service.ts):
 *
 * 1. An answer read fresh (every part from the database) serves for the cache's TTL from the
 *    moment it was asked, and never at or past the end of the subscription's period or the
 *    limit's window (`until`). A sandbox workspace's answers (its test clock moves) are never kept.
 * 2. After ingestion committed events of accounts this process holds answers for, the API process
 *    says `refresh` before it acknowledges them: those answers are asked again (from the API
 *    process's cache, which ingestion just re-read) and replaced, and only then does the ingestion
 *    answer. Until they are, the old answers serve — the events are not acknowledged yet. A rebuilt
 *    answer keeps its entry's age: its parts are at least as new as the fresh read it replaces.
 * 3. Any other write drops the workspace's answers (`drop`) before the write answers. An answer
 *    asked before a drop and arriving after it serves the request that asked, and is not kept.
 * 4. Answers are numbered in the order they were asked; one is kept only over an older one.
 * 5. An answer asked for at least 60 % of the TTL ago is asked again fresh when it serves, with
 *    every other answer of its workspace past 30 % (the API process reads them in one turn, so in
 *    a few statements) — hot answers never expire.
 * 6. An error (unknown key or account, a refused key, a failure) is never kept: the API process
 *    answers that request itself.
 */
export interface AnswerCacheOptions {
  /** Wall-clock ms. */
  now: () => number;
  /** Sends asks to the API process (whose answers come back through `answered`). */
  send: (asks: Ask[]) => void;
  ttlMs: number;
  refreshAfterMs: number;
  refreshAlongMs: number;
  maxEntries?: number;
}

interface Entry {
  key: string;
  req: CheckRequest;
  body?: string;
  workspace?: string;
  /** The live account, once answered. */
  account?: string;
  /** Wall-clock ms when the fresh read of `body` was asked for. */
  wallAt: number;
  /** Wall-clock ms from which `body` must not serve. */
  until: number;
  /** The number of the ask whose answer `body` is. */
  seq: number;
  pending?: Promise<string | undefined>;
}

const keyOf = (r: CheckRequest) => `${r.authorization}\n${r.account}\n${r.feature}`;

export class AnswerCache {
  private readonly entries = new Map<string, Entry>();
  /** Held answers by workspace, and by "workspace|live account". */
  private readonly byWorkspace = new Map<string, Set<Entry>>();
  private readonly byAccount = new Map<string, Set<Entry>>();
  private readonly waiting = new Map<number, (a: Answer) => void>();
  private outbox: Ask[] = [];
  private asked = 0;
  /** The last ask number sent before the workspace's latest drop (and before the latest drop of all). */
  private readonly droppedAt = new Map<string, number>();
  private droppedAllAt = 0;

  constructor(private readonly o: AnswerCacheOptions) {}

  get size(): number {
    return this.entries.size;
  }

  /** The kept answer if it may serve now (asking again ahead of expiry when it is old), else undefined. */
  now(req: CheckRequest): string | undefined {
    const e = this.entries.get(keyOf(req));
    if (!e) return undefined;
    const wall = this.o.now();
    if (!this.servable(e, wall)) return undefined;
    if (!e.pending && wall - e.wallAt >= this.o.refreshAfterMs) this.refreshAhead(e, wall);
    return e.body;
  }

  /** The answer: kept, or being asked, or asked now (fresh). Undefined: the API process must answer this request. */
  get(req: CheckRequest): Promise<string | undefined> {
    const body = this.now(req);
    if (body !== undefined) return Promise.resolve(body);
    const key = keyOf(req);
    let e = this.entries.get(key);
    if (!e) {
      if (this.entries.size >= (this.o.maxEntries ?? 50_000)) this.clear();
      this.entries.set(key, (e = { key, req: { authorization: req.authorization, account: req.account, feature: req.feature }, wallAt: 0, until: 0, seq: 0 }));
    }
    // An ask in flight was sent after the last refresh or drop that concerned it: as good as a new one.
    return e.pending ?? this.ask(e, true, this.o.now());
  }

  /** Answers from the API process. */
  answered(answers: Answer[]): void {
    for (const a of answers) {
      const resolve = this.waiting.get(a.n);
      if (!resolve) continue;
      this.waiting.delete(a.n);
      resolve(a);
    }
  }

  /** Rule 2: the accounts' held answers are asked again; resolves when they are replaced. */
  async refresh(workspace: string, accounts: string[]): Promise<void> {
    const wall = this.o.now();
    const asks: Promise<unknown>[] = [];
    for (const account of accounts) {
      const held = this.byAccount.get(`${workspace}|${account}`);
      if (!held) continue;
      for (const e of [...held]) {
        if (e.pending || this.servable(e, wall)) asks.push(this.ask(e, false, wall));
        else this.remove(e);
      }
    }
    await Promise.all(asks);
  }

  /** Rule 3: forget a workspace's answers (null: all). */
  drop(workspace: string | null): void {
    if (workspace === null) {
      this.droppedAllAt = this.asked;
      this.clear();
      return;
    }
    this.droppedAt.set(workspace, this.asked);
    for (const e of this.byWorkspace.get(workspace) ?? []) this.remove(e);
  }

  /** The API process is gone: every ask in flight fails (its request goes back to be answered there), and nothing kept stays. */
  fail(): void {
    const waiting = [...this.waiting];
    this.waiting.clear();
    for (const [n, resolve] of waiting) resolve({ n, ok: false });
    this.clear();
  }

  private servable(e: Entry, wall: number): boolean {
    return e.body !== undefined && wall - e.wallAt < this.o.ttlMs && wall < e.until;
  }

  private refreshAhead(e: Entry, wall: number): void {
    this.ask(e, true, wall);
    for (const o of this.byWorkspace.get(e.workspace!) ?? []) {
      if (o !== e && !o.pending && wall - o.wallAt >= this.o.refreshAlongMs && this.servable(o, wall)) this.ask(o, true, wall);
    }
  }

  /** Asks for `e`'s answer (fresh: every part read now, asked at `wall`); keeps it under rules 1–4. */
  private ask(e: Entry, fresh: boolean, wall: number): Promise<string | undefined> {
    const n = ++this.asked;
    const p: Promise<string | undefined> = new Promise<Answer>((resolve) => this.waiting.set(n, resolve)).then((a) => {
      if (e.pending === p) e.pending = undefined;
      const current = this.entries.get(e.key) === e && n > e.seq;
      if (!a.ok) {
        if (current) this.remove(e);
        return undefined;
      }
      if (current && !this.droppedSince(a.workspace, n)) this.keep(e, a, n, fresh ? wall : e.wallAt);
      return a.body;
    });
    e.pending = p;
    if (!this.outbox.length) setImmediate(() => this.flush());
    this.outbox.push({ n, authorization: e.req.authorization, account: e.req.account, feature: e.req.feature, fresh });
    return p;
  }

  private flush(): void {
    const asks = this.outbox;
    this.outbox = [];
    if (asks.length) this.o.send(asks);
  }

  private droppedSince(workspace: string, n: number): boolean {
    return n <= this.droppedAllAt || n <= (this.droppedAt.get(workspace) ?? 0);
  }

  private keep(e: Entry, a: Extract<Answer, { ok: true }>, n: number, wallAt: number): void {
    if (a.keepMs <= 0) {
      this.remove(e); // rule 1: not to be kept (a sandbox's, or its period is over)
      return;
    }
    if (e.workspace !== a.workspace || e.account !== a.account) {
      this.unindex(e);
      e.workspace = a.workspace;
      e.account = a.account;
      add(this.byWorkspace, a.workspace, e);
      add(this.byAccount, `${a.workspace}|${a.account}`, e);
    }
    e.body = a.body;
    e.until = this.o.now() + a.keepMs;
    e.seq = n;
    e.wallAt = wallAt;
  }

  private remove(e: Entry): void {
    if (this.entries.get(e.key) === e) this.entries.delete(e.key);
    this.unindex(e);
    e.body = undefined;
  }

  private unindex(e: Entry): void {
    if (e.workspace === undefined) return;
    take(this.byWorkspace, e.workspace, e);
    take(this.byAccount, `${e.workspace}|${e.account}`, e);
  }

  private clear(): void {
    for (const e of this.entries.values()) e.body = undefined;
    this.entries.clear();
    this.byWorkspace.clear();
    this.byAccount.clear();
  }
}

function add(m: Map<string, Set<Entry>>, k: string, e: Entry): void {
  const s = m.get(k);
  if (s) s.add(e);
  else m.set(k, new Set([e]));
}

function take(m: Map<string, Set<Entry>>, k: string, e: Entry): void {
  const s = m.get(k);
  if (!s) return;
  s.delete(e);
  if (!s.size) m.delete(k);
}
