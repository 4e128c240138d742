import { AppError, type AppErrorData } from './errors.ts';

/** Expected failures are values: `Result<T>` says in the type that a call can fail. */
export type Result<T, E = AppErrorData> = { ok: true; value: T } | { ok: false; error: E };

export const ok = <T>(value: T): Result<T, never> => ({ ok: true, value });
export const err = <E = AppErrorData>(error: E): Result<never, E> => ({ ok: false, error });

/** At the edge (HTTP handlers, CLI) a failed result becomes an `AppError` for the error mapper. */
export function unwrap<T>(r: Result<T, AppErrorData>): T {
  if (r.ok) return r.value;
  throw new AppError(r.error);
}
