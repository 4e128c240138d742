import { z } from 'zod';

/** Shared API shapes: the error envelope, list envelope, pagination query, money. */
export const ErrorEnvelope = z
  .object({
    error: z.object({
      type: z.string(),
      code: z.string(),
      message: z.string(),
      param: z.string().nullable(),
      request_id: z.string(),
    }),
  })
  .meta({ id: 'Error' });

export const listOf = <T extends z.ZodType>(item: T) => z.object({ object: z.literal('list'), data: z.array(item), has_more: z.boolean() });

export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(10),
  starting_after: z.string().min(1).optional(),
});

export const MoneySchema = z.object({ amount: z.number().int(), currency: z.string().length(3) }).meta({ id: 'Money' });

export const Timestamp = z.string().meta({ format: 'date-time', description: 'ISO 8601, UTC' });

export const IdParam = z.object({ id: z.string().min(1) });

/** Standard error responses to list on every route in the OpenAPI document. */
export const errorResponses = {
  400: ErrorEnvelope,
  401: ErrorEnvelope,
  403: ErrorEnvelope,
  404: ErrorEnvelope,
  409: ErrorEnvelope,
};

/** Slices a "limit + 1" query result into Stripe's list envelope. */
export function page<T, U>(rows: T[], limit: number, map: (row: T) => U) {
  return { object: 'list' as const, data: rows.slice(0, limit).map(map), has_more: rows.length > limit };
}

export const iso = (d: Date | null | undefined): string | null => (d ? new Date(d).toISOString() : null);
