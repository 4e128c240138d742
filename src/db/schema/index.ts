export * from './workspaces.ts';
export * from './jobs.ts';
export * from './catalog.ts';
export * from './events.ts';
export * from './accounts.ts';
export * from './billing.ts';
export * from './payments.ts';
