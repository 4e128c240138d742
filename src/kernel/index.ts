export * from './errors.ts';
export * from './result.ts';
export * from './currency.ts';
export * from './decimal.ts';
export * from './money.ts';
export * from './clock.ts';
export * from './dates.ts';
export * from './ids.ts';
