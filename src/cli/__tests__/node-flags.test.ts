import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { SERVER_NODE_FLAGS } from '../node-flags.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

describe("the server's node flags", () => {
  it('are on the command line of every way the server starts', () => {
    const shebang = readFileSync(path.join(root, 'bin/tandem.js'), 'utf8').split('\n')[0];
    const start = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.start;
    assert.match(shebang, /^#!\/usr\/bin\/env -S node /);
    for (const flag of SERVER_NODE_FLAGS) {
      assert.ok(shebang.split(/\s+/).includes(flag), `bin/tandem.js's shebang lacks ${flag}: ${shebang}`);
      assert.ok(start.split(/\s+/).indexOf(flag) > 0 && start.split(/\s+/).indexOf(flag) < start.split(/\s+/).indexOf('bin/tandem.js'), `npm start lacks ${flag} before the script: ${start}`);
    }
  });
});
