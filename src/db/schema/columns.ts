import { timestamp, text, bigint } from 'drizzle-orm/pg-core';

/** Shared column builders so every table spells instants, ids and money the same way. */
export const instant = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
export const id = (name = 'id') => text(name);
export const workspaceRef = () => text('workspace_id').notNull();
/** Integer minor units. int8 in the database, a JS number in code (checked to be a safe integer). */
export const minor = (name: string) => bigint(name, { mode: 'number' });
