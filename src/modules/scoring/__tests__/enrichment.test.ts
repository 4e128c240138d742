import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { LocalDatasetProvider, parseDataset } from '../enrichment/local-dataset.ts';
import { SAMPLE_DATASET } from '../enrichment/provider.ts';
import { mergeFirmographics } from '../firmographics.service.ts';

describe('the local firmographics dataset', () => {
  it('reads CSV with quoted fields and ;-separated tech, and JSON', () => {
    const csv = parseDataset('domain,name,employees,industry,country,tech_stack\nAcme.io,"Acme, Inc.",250,Software,US,segment; aws\nbad-row,,x,,,\n', 'csv');
    assert.deepEqual(csv.get('acme.io'), { domain: 'acme.io', name: 'Acme, Inc.', employees: 250, industry: 'Software', country: 'US', techStack: ['segment', 'aws'] });
    assert.equal(csv.get('bad-row')?.employees, null, 'a non-numeric head count is unknown');
    const json = parseDataset(JSON.stringify([{ domain: 'x.dev', employees: 12, tech_stack: ['dbt'] }]), 'json');
    assert.deepEqual(json.get('x.dev'), { domain: 'x.dev', name: null, employees: 12, industry: null, country: null, techStack: ['dbt'] });
  });

  it('ships a sample of a few hundred companies, looked up by domain (www. ignored)', async () => {
    const p = new LocalDatasetProvider(SAMPLE_DATASET);
    const found = await p.lookup(['growthloop.io', 'WWW.meridianfinancial.com', 'nobody.example']);
    assert.equal(found.get('growthloop.io')?.employees, 180);
    assert.equal(found.get('www.meridianfinancial.com')?.industry, 'Financial Services');
    assert.equal(found.has('nobody.example'), false);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tandem-firmo-'));
    try {
      const file = path.join(dir, 'companies.csv');
      writeFileSync(file, 'domain,employees\nlocal.test,42\n');
      assert.equal((await new LocalDatasetProvider(file).lookup(['local.test'])).get('local.test')?.employees, 42);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('account fields (group traits, API) win over enrichment, field by field', () => {
    const fact = { id: 'acct_1', createdAt: new Date(0), employees: 40, industry: null, country: null, techStack: null, domain: 'acme.io' };
    const f = mergeFirmographics(fact, { domain: 'acme.io', name: 'Acme', employees: 900, industry: 'SaaS', country: 'DE', techStack: ['stripe'] }, 'local_dataset');
    assert.deepEqual(f, {
      domain: 'acme.io',
      employees: 40,
      industry: 'SaaS',
      country: 'DE',
      techStack: ['stripe'],
      sources: { employees: 'account', industry: 'local_dataset', country: 'local_dataset', tech_stack: 'local_dataset' },
    });
  });
});
