import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../context.ts';
import {
  accountTimeline,
  createAccount,
  createContact,
  getAccount,
  getContact,
  listAccounts,
  listContacts,
  listDuplicates,
  listUnmatchedUsers,
  mergeAccounts,
  MOTIONS,
  SEGMENTS,
  updateAccount,
  type Account,
  type AccountInput,
  type Contact,
  type TimelineItem,
} from '../../modules/accounts/index.ts';
import { ctxOf } from '../auth.ts';
import { errorResponses, IdParam, iso, listOf, page, PageQuery, Timestamp } from '../schemas.ts';

const json = z.record(z.string(), z.unknown());

const AccountSchema = z
  .object({
    id: z.string(),
    object: z.literal('account'),
    external_id: z.string().nullable().describe('The Segment group id'),
    name: z.string().nullable(),
    domains: z.array(z.string()).describe('Claimed domains: contacts with these email domains resolve to this account'),
    employees: z.number().int().nullable(),
    industry: z.string().nullable(),
    country: z.string().nullable(),
    segment: z.enum(SEGMENTS).nullable(),
    motion: z.enum(MOTIONS).nullable(),
    owner_id: z.string().nullable(),
    lifecycle_stage: z.string().nullable(),
    traits: json.describe('Group traits as last sent'),
    status: z.enum(['active', 'merged']),
    merged_into: z.string().nullable(),
    merged_at: Timestamp.nullable(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .meta({ id: 'Account' });

const ContactSchema = z
  .object({
    id: z.string(),
    object: z.literal('contact'),
    user_id: z.string().nullable(),
    email: z.string().nullable(),
    name: z.string().nullable(),
    account: z.string().nullable(),
    account_source: z.enum(['group', 'api', 'company', 'domain']).nullable().describe('How the contact got its account: group call, API, traits.company.id, email domain'),
    anonymous_ids: z.array(z.string()),
    traits: json,
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .meta({ id: 'Contact' });

const TimelineItemSchema = z
  .object({
    id: z.string(),
    object: z.literal('timeline_item'),
    type: z.enum(['event', 'identity', 'merge']),
    occurred_at: Timestamp,
    summary: z.string(),
    data: json,
  })
  .meta({ id: 'TimelineItem' });

const AccountBody = z.object({
  name: z.string().min(1).max(500).nullish(),
  external_id: z.string().min(1).max(512).nullish().describe('The Segment group id'),
  domains: z.array(z.string().min(1).max(300)).max(50).optional().describe('On update: replaces the claimed domains. A domain another account holds → 409 domain_taken'),
  employees: z.number().int().min(0).max(100_000_000).nullish(),
  industry: z.string().max(200).nullish(),
  country: z.string().max(100).nullish(),
  segment: z.enum(SEGMENTS).nullish(),
  motion: z.enum(MOTIONS).nullish(),
  owner_id: z.string().max(200).nullish(),
  lifecycle_stage: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'snake_case, e.g. customer').nullish(),
});

const accountOut = (a: Account) => ({
  id: a.id,
  object: 'account' as const,
  external_id: a.externalId,
  name: a.name,
  domains: a.domains,
  employees: a.employees,
  industry: a.industry,
  country: a.country,
  segment: a.segment,
  motion: a.motion,
  owner_id: a.ownerId,
  lifecycle_stage: a.lifecycleStage,
  traits: a.traits,
  status: a.status,
  merged_into: a.mergedInto,
  merged_at: iso(a.mergedAt),
  created_at: iso(a.createdAt)!,
  updated_at: iso(a.updatedAt)!,
});

const contactOut = (c: Contact) => ({
  id: c.id,
  object: 'contact' as const,
  user_id: c.userId,
  email: c.email,
  name: c.name,
  account: c.accountId,
  account_source: c.accountSource,
  anonymous_ids: c.anonymousIds,
  traits: c.traits,
  created_at: iso(c.createdAt)!,
  updated_at: iso(c.updatedAt)!,
});

const timelineOut = (i: TimelineItem) => ({ id: i.id, object: 'timeline_item' as const, type: i.type, occurred_at: iso(i.occurredAt)!, summary: i.summary, data: i.data });

const accountInput = (b: z.infer<typeof AccountBody>): AccountInput => ({
  name: b.name,
  externalId: b.external_id,
  domains: b.domains,
  employees: b.employees,
  industry: b.industry,
  country: b.country,
  segment: b.segment,
  motion: b.motion,
  ownerId: b.owner_id,
  lifecycleStage: b.lifecycle_stage,
});

const tags = ['Accounts'];

export function accountRoutes(app: FastifyInstance, deps: Deps) {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post('/v1/accounts', { schema: { tags, summary: 'Create an account', body: AccountBody, response: { 200: AccountSchema, ...errorResponses } } }, async (request) =>
    accountOut(await createAccount(ctxOf(deps, request), accountInput(request.body))),
  );

  r.get(
    '/v1/accounts',
    {
      schema: {
        tags,
        summary: 'List accounts, newest first',
        querystring: PageQuery.extend({ status: z.enum(['active', 'merged']).optional(), domain: z.string().optional(), external_id: z.string().optional() }),
        response: { 200: listOf(AccountSchema), ...errorResponses },
      },
    },
    async (request) => {
      const q = request.query;
      const rows = await listAccounts(ctxOf(deps, request), { limit: q.limit, startingAfter: q.starting_after, status: q.status, domain: q.domain, externalId: q.external_id });
      return page(rows, q.limit, accountOut);
    },
  );

  r.get(
    '/v1/accounts/duplicates',
    {
      schema: {
        tags,
        summary: 'Accounts sharing a corporate domain (candidates for a merge), by domain',
        querystring: PageQuery,
        response: { 200: listOf(z.object({ object: z.literal('duplicate_domain'), domain: z.string(), accounts: z.array(z.string()) })), ...errorResponses },
      },
    },
    async (request) => {
      const rows = await listDuplicates(ctxOf(deps, request), { limit: request.query.limit, startingAfter: request.query.starting_after });
      return page(rows, request.query.limit, (d) => ({ object: 'duplicate_domain' as const, domain: d.domain, accounts: d.accountIds }));
    },
  );

  r.get(
    '/v1/accounts/unmatched_users',
    {
      schema: {
        tags,
        summary: 'Users whose events matched no account yet (attached once they are identified or grouped)',
        querystring: PageQuery,
        response: {
          200: listOf(
            z.object({
              id: z.string().describe("'u:<userId>' or 'a:<anonymousId>'; use as starting_after"),
              object: z.literal('unmatched_user'),
              user_id: z.string().nullable(),
              anonymous_id: z.string().nullable(),
              contact: z.string().nullable(),
              email: z.string().nullable(),
              event_count: z.number().int(),
              first_seen_at: Timestamp,
              last_seen_at: Timestamp,
            }),
          ),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const rows = await listUnmatchedUsers(ctxOf(deps, request), { limit: request.query.limit, startingAfter: request.query.starting_after });
      return page(rows, request.query.limit, (u) => ({
        id: u.key,
        object: 'unmatched_user' as const,
        user_id: u.userId,
        anonymous_id: u.anonymousId,
        contact: u.contactId,
        email: u.email,
        event_count: u.eventCount,
        first_seen_at: iso(u.firstSeenAt)!,
        last_seen_at: iso(u.lastSeenAt)!,
      }));
    },
  );

  r.get(
    '/v1/accounts/:id',
    { schema: { tags, summary: "Retrieve an account (a merged account's id answers with the survivor)", params: IdParam, response: { 200: AccountSchema, ...errorResponses } } },
    async (request) => accountOut(await getAccount(ctxOf(deps, request), request.params.id)),
  );

  r.post(
    '/v1/accounts/:id',
    { schema: { tags, summary: 'Update an account (null clears a field)', params: IdParam, body: AccountBody, response: { 200: AccountSchema, ...errorResponses } } },
    async (request) => accountOut(await updateAccount(ctxOf(deps, request), request.params.id, accountInput(request.body))),
  );

  r.post(
    '/v1/accounts/:id/merge',
    {
      schema: {
        tags,
        summary: 'Merge this account into another (`into`), keeping all history; the merged id keeps resolving to the survivor',
        params: IdParam,
        body: z.object({ into: z.string().min(1).describe('The surviving account') }),
        response: {
          200: z.object({
            object: z.literal('account_merge'),
            account: AccountSchema.describe('The survivor'),
            merged_account: AccountSchema,
            moved: z.object({ events: z.number().int(), contacts: z.number().int(), domains: z.number().int(), memberships: z.number().int(), activity: z.number().int() }),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const m = await mergeAccounts(ctxOf(deps, request), request.params.id, request.body.into);
      return { object: 'account_merge' as const, account: accountOut(m.account), merged_account: accountOut(m.merged), moved: m.moved };
    },
  );

  r.get(
    '/v1/accounts/:id/timeline',
    {
      schema: {
        tags,
        summary: "The account's product events, identity changes and merges, newest first",
        params: IdParam,
        querystring: PageQuery,
        response: { 200: listOf(TimelineItemSchema), ...errorResponses },
      },
    },
    async (request) => {
      const r2 = await accountTimeline(ctxOf(deps, request), request.params.id, { limit: request.query.limit, startingAfter: request.query.starting_after });
      return { object: 'list' as const, data: r2.items.map(timelineOut), has_more: r2.hasMore };
    },
  );

  r.post(
    '/v1/contacts',
    {
      schema: {
        tags,
        summary: 'Create a contact',
        body: z.object({
          user_id: z.string().min(1).max(512).nullish(),
          email: z.string().max(320).nullish(),
          name: z.string().max(500).nullish(),
          traits: json.optional(),
          account: z.string().min(1).nullish().describe('Link to this account; otherwise the email domain may link it'),
        }),
        response: { 200: ContactSchema, ...errorResponses },
      },
    },
    async (request) => {
      const b = request.body;
      return contactOut(await createContact(ctxOf(deps, request), { userId: b.user_id, email: b.email, name: b.name, traits: b.traits, account: b.account }));
    },
  );

  r.get(
    '/v1/contacts',
    {
      schema: {
        tags,
        summary: 'List contacts, newest first',
        querystring: PageQuery.extend({ account: z.string().optional(), email: z.string().optional(), user_id: z.string().optional() }),
        response: { 200: listOf(ContactSchema), ...errorResponses },
      },
    },
    async (request) => {
      const q = request.query;
      const rows = await listContacts(ctxOf(deps, request), { limit: q.limit, startingAfter: q.starting_after, account: q.account, email: q.email, userId: q.user_id });
      return page(rows, q.limit, contactOut);
    },
  );

  r.get('/v1/contacts/:id', { schema: { tags, summary: 'Retrieve a contact', params: IdParam, response: { 200: ContactSchema, ...errorResponses } } }, async (request) =>
    contactOut(await getContact(ctxOf(deps, request), request.params.id)),
  );
}
