import { createHmac, randomBytes } from 'node:crypto';
import { and, count, eq } from 'drizzle-orm';
import type { Ctx, Db } from '../../context.ts';
import { sandboxAccounts, sandboxCards, sandboxCharges } from '../../db/schema/index.ts';
import { AppError, notFound } from '../../kernel/errors.ts';
import { newId } from '../../kernel/ids.ts';
import { err, ok } from '../../kernel/result.ts';
import { cardBrand, cardExpired, luhnValid, normalizeCardNumber, normalizeExpYear } from './compute/card.ts';
import type { ChargeInput, ChargeOutcome, DeclineCode, PaymentProcessor } from './processor.ts';

/**
 * The built-in sandbox processor: deterministic, idempotent across restarts, on PGlite and
 * PostgreSQL alike. Test card numbers follow Stripe's documented ones:
 *
 * | number              | saving the card        | every charge                                           |
 * |---------------------|------------------------|--------------------------------------------------------|
 * | 4242 4242 4242 4242 | ok (visa)              | succeeds                                               |
 * | 5555 5555 5555 4444 | ok (mastercard)        | succeeds                                               |
 * | 4000 0000 0000 0002 | declined: card_declined| — (never saved, as Stripe refuses to attach it)        |
 * | 4000 0000 0000 9995 | ok                     | declined: insufficient_funds                           |
 * | 4000 0000 0000 0069 | ok                     | declined: expired_card                                 |
 * | 4000 0000 0000 0127 | ok                     | declined: incorrect_cvc                                |
 * | 4000 0000 0000 0119 | ok                     | failed: processing_error on the FIRST charge of each   |
 * |                     |                        | idempotency-key prefix (the text before the last ':', |
 * |                     |                        | i.e. the invoice of `inv_…:<attempt>`), then succeeds  |
 * | 4000 0000 0000 0341 | ok                     | declined: card_declined (attach ok, charges fail)      |
 * | any other Luhn-valid| ok (brand from prefix) | succeeds                                               |
 *
 * Any card whose expiry month has passed on the workspace clock is refused when saved
 * (`card_expired`) and declined when charged (`expired_card`). Charges are rows of
 * `sandbox_charges`, unique per (workspace, idempotency key): the same key returns the stored
 * outcome; the same key with another token or amount is refused (`idempotency_key_reused`).
 */
type Behavior = 'succeed' | 'decline_on_save' | 'insufficient_funds' | 'expired_card' | 'incorrect_cvc' | 'processing_error_once' | 'card_declined';

export const SANDBOX_TEST_CARDS: Readonly<Record<string, Behavior>> = {
  '4242424242424242': 'succeed',
  '5555555555554444': 'succeed',
  '4000000000000002': 'decline_on_save',
  '4000000000009995': 'insufficient_funds',
  '4000000000000069': 'expired_card',
  '4000000000000127': 'incorrect_cvc',
  '4000000000000119': 'processing_error_once',
  '4000000000000341': 'card_declined',
};

const DECLINE_MESSAGES: Record<DeclineCode, string> = {
  card_declined: 'Your card was declined.',
  insufficient_funds: 'Your card has insufficient funds.',
  expired_card: 'Your card has expired.',
  incorrect_cvc: "Your card's security code is incorrect.",
  lost_card: 'Your card was declined.',
  stolen_card: 'Your card was declined.',
  do_not_honor: 'Your card was declined.',
};
const PROCESSING_ERROR_MESSAGE = 'An error occurred while processing your card. Try again in a little bit.';

/** The per-workspace secret salt of fingerprints, created on first use. */
async function fingerprintSalt(db: Db, ctx: Ctx): Promise<string> {
  await db
    .insert(sandboxAccounts)
    .values({ workspaceId: ctx.workspaceId, fingerprintSalt: randomBytes(32).toString('hex'), createdAt: ctx.asOf })
    .onConflictDoNothing();
  const [row] = await db.select().from(sandboxAccounts).where(eq(sandboxAccounts.workspaceId, ctx.workspaceId)).limit(1);
  return row.fingerprintSalt;
}

type ChargeRow = typeof sandboxCharges.$inferSelect;

function outcomeOf(row: ChargeRow): ChargeOutcome {
  if (row.outcome === 'succeeded') return { status: 'succeeded', processorChargeId: row.id };
  if (row.outcome === 'failed') return { status: 'failed', retryable: true, code: 'processing_error', message: row.message ?? PROCESSING_ERROR_MESSAGE, processorChargeId: row.id };
  return { status: 'declined', code: row.code as DeclineCode, message: row.message ?? DECLINE_MESSAGES.card_declined, processorChargeId: row.id };
}

function replay(row: ChargeRow, input: ChargeInput): ChargeOutcome {
  if (row.token !== input.token || row.amount !== input.amount.amount || row.currency !== input.amount.currency) {
    throw new AppError({
      code: 'idempotency_key_reused',
      message: `The sandbox processor already charged with idempotency key '${input.idempotencyKey}' for another card or amount.`,
      param: 'idempotency_key',
    });
  }
  return outcomeOf(row);
}

/** "inv_1:2" → "inv_1"; a key without ':' is its own prefix. */
export function keyPrefix(key: string): string {
  const i = key.lastIndexOf(':');
  return i > 0 ? key.slice(0, i) : key;
}

async function findCharge(db: Db, workspaceId: string, key: string): Promise<ChargeRow | undefined> {
  const [row] = await db
    .select()
    .from(sandboxCharges)
    .where(and(eq(sandboxCharges.workspaceId, workspaceId), eq(sandboxCharges.idempotencyKey, key)))
    .limit(1);
  return row;
}

type CardRow = typeof sandboxCards.$inferSelect;
type Decision = { outcome: 'succeeded' | 'declined' | 'failed'; code: string | null; message: string | null };

/** The outcome of a new charge on a saved card, at the workspace instant `asOf`. */
async function decide(card: CardRow, asOf: Date, priorUnderPrefix: () => Promise<number>): Promise<Decision> {
  const declined = (c: DeclineCode): Decision => ({ outcome: 'declined', code: c, message: DECLINE_MESSAGES[c] });
  if (cardExpired(card.expMonth, card.expYear, asOf)) return declined('expired_card');
  switch (card.behavior as Behavior) {
    case 'insufficient_funds':
    case 'expired_card':
    case 'incorrect_cvc':
    case 'card_declined':
      return declined(card.behavior as DeclineCode);
    case 'processing_error_once':
      if ((await priorUnderPrefix()) === 0) return { outcome: 'failed', code: 'processing_error', message: PROCESSING_ERROR_MESSAGE };
      return { outcome: 'succeeded', code: null, message: null };
    default:
      return { outcome: 'succeeded', code: null, message: null };
  }
}

export const sandboxProcessor: PaymentProcessor = {
  name: 'sandbox',

  async tokenizeCard(ctx, input) {
    const number = normalizeCardNumber(input.number);
    if (!number || !luhnValid(number)) {
      return err({ code: 'card_number_invalid', param: 'card.number', message: 'The card number is not a valid card number (12 to 19 digits passing the Luhn check).' });
    }
    if (!Number.isInteger(input.exp_month) || input.exp_month < 1 || input.exp_month > 12) {
      return err({ code: 'parameter_invalid', param: 'card.exp_month', message: 'card.exp_month must be a month number from 1 to 12.' });
    }
    const expYear = normalizeExpYear(input.exp_year);
    if (!Number.isInteger(expYear) || expYear < 2000 || expYear > 2099) {
      return err({ code: 'parameter_invalid', param: 'card.exp_year', message: 'card.exp_year must be a year such as 2030 (or 30).' });
    }
    const brand = cardBrand(number);
    const cvcDigits = brand === 'amex' ? 4 : 3;
    if (!new RegExp(`^\\d{${cvcDigits}}$`).test(input.cvc)) {
      return err({ code: 'parameter_invalid', param: 'card.cvc', message: `card.cvc must be the ${cvcDigits}-digit security code of the card.` });
    }
    if (cardExpired(input.exp_month, expYear, ctx.asOf)) {
      const mm = String(input.exp_month).padStart(2, '0');
      return err({ code: 'card_expired', param: 'card.exp_year', message: `The card expired at the end of ${mm}/${expYear} (workspace time ${ctx.asOf.toISOString()}).` });
    }
    const behavior = SANDBOX_TEST_CARDS[number] ?? 'succeed';
    if (behavior === 'decline_on_save') return err({ code: 'card_declined', param: 'card', details: { decline_code: 'card_declined' } });
    const db = ctx.deps.database.db;
    const fingerprint = createHmac('sha256', await fingerprintSalt(db, ctx)).update(number).digest('hex').slice(0, 32);
    const token = newId('tok');
    const last4 = number.slice(-4);
    await db.insert(sandboxCards).values({
      id: token,
      workspaceId: ctx.workspaceId,
      behavior,
      brand,
      last4,
      expMonth: input.exp_month,
      expYear,
      fingerprint,
      createdAt: ctx.asOf,
    });
    return ok({ token, brand, last4, exp_month: input.exp_month, exp_year: expYear, fingerprint });
  },

  async charge(ctx, input) {
    const db = ctx.deps.database.db;
    if (!Number.isSafeInteger(input.amount.amount) || input.amount.amount <= 0) {
      throw new AppError({ code: 'amount_invalid', message: `A charge is a positive integer of minor units; got ${input.amount.amount}.`, param: 'amount' });
    }
    if (!input.idempotencyKey) throw new AppError({ code: 'parameter_missing', message: 'A charge needs an idempotency key.', param: 'idempotency_key' });
    const existing = await findCharge(db, ctx.workspaceId, input.idempotencyKey);
    if (existing) return replay(existing, input);

    const [card] = await db
      .select()
      .from(sandboxCards)
      .where(and(eq(sandboxCards.workspaceId, ctx.workspaceId), eq(sandboxCards.id, input.token)))
      .limit(1);
    if (!card) throw notFound('card token', input.token, 'token');

    const prefix = keyPrefix(input.idempotencyKey);
    const priorUnderPrefix = async () => {
      const [{ n }] = await db
        .select({ n: count() })
        .from(sandboxCharges)
        .where(and(eq(sandboxCharges.workspaceId, ctx.workspaceId), eq(sandboxCharges.keyPrefix, prefix), eq(sandboxCharges.token, card.id)));
      return Number(n);
    };
    const { outcome, code, message } = await decide(card, ctx.asOf, priorUnderPrefix);

    const [inserted] = await db
      .insert(sandboxCharges)
      .values({
        id: newId('ch'),
        workspaceId: ctx.workspaceId,
        idempotencyKey: input.idempotencyKey,
        keyPrefix: prefix,
        token: input.token,
        amount: input.amount.amount,
        currency: input.amount.currency,
        outcome,
        code,
        message,
        description: input.description ?? null,
        metadata: input.metadata ?? {},
        createdAt: ctx.asOf,
      })
      .onConflictDoNothing()
      .returning();
    if (inserted) return outcomeOf(inserted);
    // A concurrent call with the same key won the insert: answer with its outcome.
    const winner = await findCharge(db, ctx.workspaceId, input.idempotencyKey);
    if (!winner) throw new Error(`sandbox charge '${input.idempotencyKey}' vanished after a conflicting insert`);
    return replay(winner, input);
  },
};
