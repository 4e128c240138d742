export * from './workspaces.ts';
export * from './jobs.ts';
