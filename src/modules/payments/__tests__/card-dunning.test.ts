import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { cardBrand, cardExpired, luhnValid, normalizeCardNumber, normalizeExpYear } from '../compute/card.ts';
import { DEFAULT_DUNNING_POLICY, dunningSchedule, nextDunningStep, validateDunningPolicy } from '../compute/dunning.ts';
import { keyPrefix, SANDBOX_TEST_CARDS } from '../sandbox-processor.ts';

describe('card checks', () => {
  it('accepts every sandbox test card and well-known numbers by Luhn, rejects a changed digit', () => {
    for (const n of [...Object.keys(SANDBOX_TEST_CARDS), '378282246310005', '6011111111111117', '3566002020360505']) assert.ok(luhnValid(n), n);
    assert.equal(luhnValid('4242424242424241'), false);
    assert.equal(luhnValid('1234567812345678'), false);
  });

  it('catches every single-digit error (property)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...Object.keys(SANDBOX_TEST_CARDS)), fc.nat(15), fc.integer({ min: 1, max: 9 }), (n, pos, delta) => {
        const d = (Number(n[pos]) + delta) % 10;
        const changed = n.slice(0, pos) + d + n.slice(pos + 1);
        assert.equal(luhnValid(changed), false, changed);
      }),
    );
  });

  it('normalises spaces and dashes, refuses letters and wrong lengths', () => {
    assert.equal(normalizeCardNumber('4242 4242-4242 4242'), '4242424242424242');
    assert.equal(normalizeCardNumber('4242 4242 4242 424x'), null);
    assert.equal(normalizeCardNumber('42424242424'), null);
    assert.equal(normalizeCardNumber('4'.repeat(20)), null);
  });

  it('knows the brands', () => {
    assert.equal(cardBrand('4242424242424242'), 'visa');
    assert.equal(cardBrand('5555555555554444'), 'mastercard');
    assert.equal(cardBrand('2223003122003222'), 'mastercard');
    assert.equal(cardBrand('378282246310005'), 'amex');
    assert.equal(cardBrand('6011111111111117'), 'discover');
    assert.equal(cardBrand('3566002020360505'), 'jcb');
    assert.equal(cardBrand('9999999999999995'), 'unknown');
  });

  it('keeps a card good through the last instant of its expiry month', () => {
    assert.equal(cardExpired(2, 2026, new Date('2026-02-28T23:59:59.999Z')), false);
    assert.equal(cardExpired(2, 2026, new Date('2026-03-01T00:00:00Z')), true);
    assert.equal(cardExpired(12, 2026, new Date('2026-12-31T23:59:59Z')), false);
    assert.equal(cardExpired(12, 2026, new Date('2027-01-01T00:00:00Z')), true);
    assert.equal(normalizeExpYear(30), 2030);
    assert.equal(normalizeExpYear(2031), 2031);
  });

  it('takes the invoice as the key prefix of an attempt key', () => {
    assert.equal(keyPrefix('inv_123:2'), 'inv_123');
    assert.equal(keyPrefix('a:b:3'), 'a:b');
    assert.equal(keyPrefix('plain'), 'plain');
  });
});

describe('dunning schedule', () => {
  const first = new Date('2026-01-31T09:00:00Z');

  it('retries 1, 3 and 5 days after the FIRST failure, then gives the final action', () => {
    const s2 = nextDunningStep(DEFAULT_DUNNING_POLICY, { failedAttempt: 1, firstFailureAt: first });
    assert.deepEqual(s2, { kind: 'retry', attempt: 2, at: new Date('2026-02-01T09:00:00Z') });
    const s3 = nextDunningStep(DEFAULT_DUNNING_POLICY, { failedAttempt: 2, firstFailureAt: first });
    assert.deepEqual(s3, { kind: 'retry', attempt: 3, at: new Date('2026-02-03T09:00:00Z') });
    const s4 = nextDunningStep(DEFAULT_DUNNING_POLICY, { failedAttempt: 3, firstFailureAt: first });
    assert.deepEqual(s4, { kind: 'retry', attempt: 4, at: new Date('2026-02-05T09:00:00Z') });
    assert.deepEqual(nextDunningStep(DEFAULT_DUNNING_POLICY, { failedAttempt: 4, firstFailureAt: first }), { kind: 'final', action: 'past_due', attempts: 4 });
    assert.deepEqual(
      dunningSchedule(DEFAULT_DUNNING_POLICY, first).map((s) => [s.attempt, s.at.toISOString()]),
      [
        [2, '2026-02-01T09:00:00.000Z'],
        [3, '2026-02-03T09:00:00.000Z'],
        [4, '2026-02-05T09:00:00.000Z'],
      ],
    );
  });

  it('crosses month ends and leap days by calendar days', () => {
    const policy = { retry_days: [1, 2], final_action: 'cancel' as const };
    const at = new Date('2028-02-28T00:00:00Z');
    assert.deepEqual(
      dunningSchedule(policy, at).map((s) => s.at.toISOString()),
      ['2028-02-29T00:00:00.000Z', '2028-03-01T00:00:00.000Z'],
    );
    assert.deepEqual(nextDunningStep(policy, { failedAttempt: 3, firstFailureAt: at }), { kind: 'final', action: 'cancel', attempts: 3 });
  });

  it('with no retry days the first failure is final', () => {
    assert.deepEqual(nextDunningStep({ retry_days: [], final_action: 'mark_unpaid' }, { failedAttempt: 1, firstFailureAt: first }), {
      kind: 'final',
      action: 'mark_unpaid',
      attempts: 1,
    });
    assert.throws(() => nextDunningStep(DEFAULT_DUNNING_POLICY, { failedAttempt: 0, firstFailureAt: first }));
  });

  it('validates policies, naming the parameter', () => {
    const actions = ['past_due', 'cancel', 'mark_unpaid'] as const;
    const okPolicy = validateDunningPolicy({ final_action: 'cancel' }, actions);
    assert.ok(okPolicy.ok);
    assert.deepEqual(okPolicy.ok && okPolicy.value.retry_days, [1, 3, 5]);
    for (const retry_days of [[3, 1], [1, 1], [0], [91], [1.5], Array.from({ length: 13 }, (_, i) => i + 1)]) {
      const r = validateDunningPolicy({ retry_days, final_action: 'cancel' }, actions);
      assert.equal(r.ok, false, JSON.stringify(retry_days));
      assert.equal(!r.ok && r.error.param, 'retry_days');
    }
    const bad = validateDunningPolicy({ final_action: 'explode' as never }, actions);
    assert.equal(!bad.ok && bad.error.param, 'final_action');
  });

  it('every retry falls strictly after the previous one and on a whole day after the first failure (property)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: 90 }), { maxLength: 12 }), fc.date({ min: new Date('2020-01-01'), max: new Date('2040-01-01'), noInvalidDate: true }), (days, at) => {
        const policy = { retry_days: [...days].sort((a, b) => a - b), final_action: 'past_due' as const };
        let prev = at.getTime();
        for (let n = 1; ; n++) {
          const step = nextDunningStep(policy, { failedAttempt: n, firstFailureAt: at });
          if (step.kind === 'final') {
            assert.equal(n, policy.retry_days.length + 1);
            break;
          }
          assert.ok(step.at.getTime() > prev);
          assert.equal((step.at.getTime() - at.getTime()) % 86_400_000, 0);
          prev = step.at.getTime();
        }
      }),
    );
  });
});
