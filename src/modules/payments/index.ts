/**
 * Payments: saved payment methods, card charges and manual payments against invoices, the
 * payment-processor port with its built-in sandbox, and the dunning retry schedule.
 * The billing module orchestrates (which invoice, which attempt, when); this module charges.
 */
export * from './payments.ts';
export {
  chargeCard,
  createPaymentMethod,
  detachPaymentMethod,
  getDefaultPaymentMethod,
  getPayment,
  getPaymentMethod,
  listPaymentMethods,
  listPayments,
  paymentError,
  recordManualPayment,
  updatePaymentMethod,
  type ChargeCardInput,
  type CreatePaymentMethodInput,
  type ManualPaymentInput,
} from './payments.service.ts';
export type { PaymentFilter, PaymentMethodFilter } from './payments.repo.ts';
export {
  DEFAULT_PROCESSOR,
  getProcessor,
  registerProcessor,
  type CardInput,
  type ChargeInput,
  type ChargeOutcome,
  type DeclineCode,
  type PaymentProcessor,
  type RefundInput,
  type RefundOutcome,
  type TokenizedCard,
} from './processor.ts';
export { SANDBOX_TEST_CARDS } from './sandbox-processor.ts';
export {
  DEFAULT_DUNNING_POLICY,
  dunningSchedule,
  nextDunningStep,
  validateDunningPolicy,
  type DunningFinalAction,
  type DunningPolicy,
  type DunningStep,
} from './compute/dunning.ts';
export type { CardBrand } from './compute/card.ts';
