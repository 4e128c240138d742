/**
 * The messages between the API process and its check process (IPC, node's advanced
 * serialization). See parent.ts for the design.
 */

/** One check the check process asks the API process to answer. */
export interface Ask {
  /** The check process's number for this ask (answers name it; later numbers are newer reads). */
  n: number;
  authorization: string;
  account: string;
  feature: string;
  /** Read every part from the database now (a miss, or a refresh ahead of expiry); else from the API process's cache. */
  fresh: boolean;
}

/** The answer to an ask: the check's JSON, or `ok: false` (an error: the API process answers that request itself). */
export type Answer =
  | {
      n: number;
      ok: true;
      body: string;
      workspace: string;
      /** The live account the answer is about (ingestion names accounts by it). */
      account: string;
      /** For how many ms from now it may be kept at most (to the end of the period or the limit's window): Infinity without either, 0 never (a sandbox workspace's; its test clock moves). */
      keepMs: number;
    }
  | { n: number; ok: false };

export type ToChild =
  /** A connection handed over (with the socket), with the bytes already read from it. */
  | { t: 'conn'; head: Buffer }
  | { t: 'answers'; answers: Answer[] }
  /** Ingestion re-read these accounts' usage: rebuild their answers, then say `done` with `n`. */
  | { t: 'refresh'; n: number; workspace: string; accounts: string[] }
  /** Forget the workspace's answers (null: all), then say `done` with `n`. */
  | { t: 'drop'; n: number; workspace: string | null }
  /** Answer what was asked, close every connection, exit. */
  | { t: 'close' };

export type ToParent =
  | { t: 'ready' }
  | { t: 'asks'; asks: Ask[] }
  | { t: 'done'; n: number }
  /** A connection handed back (with the socket), with the bytes of its requests not answered. */
  | { t: 'conn'; head: Buffer };

/** What the check process is started with (its argv[2], JSON). */
export interface ChildConfig {
  ttlMs: number;
  refreshAfterMs: number;
  refreshAlongMs: number;
  keepAliveTimeoutMs: number;
}
