import assert from 'node:assert/strict';
import { it } from 'node:test';
// @ts-expect-error plain ESM script without types
import { findViolations } from '../scripts/check-boundaries.mjs';

it('modules import each other only through index.ts, and the kernel imports nothing else', () => {
  assert.deepEqual(findViolations('src'), []);
});

it('the check catches a deep import', async () => {
  const { mkdtempSync, mkdirSync, writeFileSync, rmSync } = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const root = mkdtempSync(path.join(os.tmpdir(), 'bounds-'));
  mkdirSync(path.join(root, 'modules/a'), { recursive: true });
  mkdirSync(path.join(root, 'modules/b'), { recursive: true });
  writeFileSync(path.join(root, 'modules/b/index.ts'), 'export const x = 1;');
  writeFileSync(path.join(root, 'modules/b/b.repo.ts'), 'export const y = 1;');
  writeFileSync(path.join(root, 'modules/a/a.service.ts'), "import { x } from '../b/index.ts';\nimport { y } from '../b/b.repo.ts';\n");
  const v = findViolations(root) as string[];
  rmSync(root, { recursive: true, force: true });
  assert.equal(v.length, 1);
  assert.match(v[0], /b\.repo\.ts/);
});
