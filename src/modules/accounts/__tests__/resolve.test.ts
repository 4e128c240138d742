import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NormalizedMessage } from '../../events/index.ts';
import { candidateDomains, emailDomain, hintsOf, isFreeMailDomain, normalizeDomain, resolveAccount, type Lookups } from '../index.ts';

describe('domains', () => {
  it('recognises free-mail providers, including families across country suffixes', () => {
    for (const d of ['gmail.com', 'yahoo.com', 'yahoo.co.uk', 'yahoo.fr', 'outlook.com', 'hotmail.de', 'icloud.com', 'proton.me', 'protonmail.com', 'aol.com', 'gmx.de', 'gmx.net', 'mail.ru', 'yandex.ru', 'qq.com', '163.com']) {
      assert.ok(isFreeMailDomain(d), d);
    }
    for (const d of ['acme.com', 'yahooligans-inc.com', 'mygmail.com', 'gmail.acme.com', 'yahoo.example.org']) assert.ok(!isFreeMailDomain(d), d);
  });

  it('normalizes what people type as a domain', () => {
    assert.equal(normalizeDomain('https://www.Acme.com/pricing?x=1'), 'acme.com');
    assert.equal(normalizeDomain('ACME.co.uk.'), 'acme.co.uk');
    assert.equal(normalizeDomain('acme.com:8443'), 'acme.com');
    assert.equal(normalizeDomain('bücher.de'), 'xn--bcher-kva.de');
    assert.equal(normalizeDomain('localhost'), null);
    assert.equal(normalizeDomain('10.0.0.1'), null);
    assert.equal(normalizeDomain('not a domain'), null);
    assert.equal(emailDomain('Bob@Eng.Acme.com'), 'eng.acme.com');
    assert.equal(emailDomain('no-at-sign'), null);
  });

  it('offers parent domains, most specific first, never a bare suffix or free mail', () => {
    assert.deepEqual(candidateDomains('eng.eu.acme.com'), ['eng.eu.acme.com', 'eu.acme.com', 'acme.com']);
    assert.deepEqual(candidateDomains('sales.acme.co.uk'), ['sales.acme.co.uk', 'acme.co.uk']);
    assert.deepEqual(candidateDomains('gmail.com'), []);
    assert.deepEqual(candidateDomains('yahoo.co.uk'), []);
  });
});

describe('account resolution precedence', () => {
  const msg = (m: Partial<NormalizedMessage>): NormalizedMessage => ({
    index: 0,
    messageId: 'm',
    type: 'track',
    event: 'E',
    userId: 'u1',
    anonymousId: null,
    groupId: null,
    previousId: null,
    timestamp: new Date(0),
    sentAt: null,
    receivedAt: new Date(0),
    properties: null,
    traits: null,
    context: null,
    ...m,
  });
  const lookups = (l: Partial<Lookups> = {}): Lookups => ({
    contactByUserId: new Map(),
    contactByAlias: new Map(),
    accountByExternalId: new Map([
      ['g1', 'acct_group'],
      ['c1', 'acct_company'],
    ]),
    accountByDomain: new Map([
      ['acme.com', 'acct_domain'],
      ['eu.acme.com', 'acct_eu'],
    ]),
    ...l,
  });
  const resolve = (m: Partial<NormalizedMessage>, l?: Partial<Lookups>) => {
    const full = msg(m);
    return resolveAccount(full, hintsOf(full), lookups(l));
  };
  const everything = { groupId: 'g1', context: { groupId: 'g1', traits: { email: 'bob@acme.com', company: { id: 'c1' } } } };
  const member = { contactByUserId: new Map([['u1', { contactId: 'cont_1', accountId: 'acct_member', source: 'group' as const }]]) };

  it('1. the message group id beats everything', () => {
    assert.deepEqual(resolve(everything, member), { accountId: 'acct_group', via: 'group_id' });
  });
  it('2. then the user’s latest group membership', () => {
    assert.deepEqual(resolve({ context: everything.context, groupId: null }, member), { accountId: 'acct_member', via: 'membership' });
  });
  it('3. then traits.company.id (context.traits or identify traits)', () => {
    assert.deepEqual(resolve({ context: { traits: { email: 'bob@acme.com', company: { id: 'c1' } } } }), { accountId: 'acct_company', via: 'company_id' });
    assert.deepEqual(resolve({ type: 'identify', traits: { email: 'bob@acme.com', company: { id: 'c1' } } }), { accountId: 'acct_company', via: 'company_id' });
  });
  it('4. then the corporate email domain, most specific claimed domain first', () => {
    assert.deepEqual(resolve({ context: { traits: { email: 'bob@acme.com', company: { id: 'unknown' } } } }), { accountId: 'acct_domain', via: 'email_domain' });
    assert.deepEqual(resolve({ context: { traits: { email: 'ann@eng.eu.acme.com' } } }), { accountId: 'acct_eu', via: 'email_domain' });
  });
  it('never matches a free-mail domain', () => {
    const l = { accountByDomain: new Map([['gmail.com', 'acct_wrong']]) };
    assert.deepEqual(resolve({ context: { traits: { email: 'bob@gmail.com' } } }, l), { accountId: null, via: null });
  });
  it('falls back to links stored by rank: company link above the event’s email domain, domain link last', () => {
    const company = { contactByUserId: new Map([['u1', { contactId: 'c', accountId: 'acct_stored_company', source: 'company' as const }]]) };
    assert.equal(resolve({ context: { traits: { email: 'bob@acme.com' } } }, company).accountId, 'acct_stored_company');
    const domain = { contactByUserId: new Map([['u1', { contactId: 'c', accountId: 'acct_stored_domain', source: 'domain' as const }]]) };
    assert.equal(resolve({ context: { traits: { email: 'bob@acme.com' } } }, domain).accountId, 'acct_domain', 'the event’s own email domain first');
    assert.equal(resolve({}, domain).accountId, 'acct_stored_domain');
  });
  it('finds the user by anonymous id once linked, else leaves the event unmatched', () => {
    const anon = { contactByAlias: new Map([['anon-1', { contactId: 'c', accountId: 'acct_member', source: 'group' as const }]]) };
    assert.equal(resolve({ userId: null, anonymousId: 'anon-1' }, anon).accountId, 'acct_member');
    assert.deepEqual(resolve({ userId: 'nobody' }), { accountId: null, via: null });
  });
  it('ignores a group call’s traits.email (they describe the company, not the user)', () => {
    assert.equal(resolve({ type: 'group', groupId: 'unknown', traits: { email: 'billing@acme.com' } }).accountId, null);
  });
});
