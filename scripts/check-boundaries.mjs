// Module boundaries: a module under src/modules/<m>/ may import another module only through
// its index.ts (src/modules/<other>/index.ts), never its internals. Kernel imports nothing
// from the rest of src. Exits 1 listing every violation.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.(ts|tsx)$/.test(name)) out.push(p);
  }
  return out;
}

export function findViolations(root = 'src') {
  const violations = [];
  const importRe = /(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (const file of walk(root)) {
    const src = readFileSync(file, 'utf8');
    const rel = path.relative(root, file).split(path.sep);
    const fromModule = rel[0] === 'modules' ? rel[1] : null;
    for (const m of src.matchAll(importRe)) {
      const spec = m[1] ?? m[2];
      if (!spec.startsWith('.')) continue;
      const target = path.relative(root, path.resolve(path.dirname(file), spec)).split(path.sep);
      if (rel[0] === 'kernel' && target[0] !== 'kernel') violations.push(`${file}: kernel imports ${spec}`);
      if (target[0] === 'modules' && target[1] && target[1] !== fromModule) {
        const rest = target.slice(2).join('/');
        if (rest !== 'index.ts' && rest !== 'index' && rest !== '') violations.push(`${file}: imports ${spec} (use src/modules/${target[1]}/index.ts)`);
      }
    }
  }
  return violations;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const v = findViolations();
  if (v.length) {
    console.error(`module boundary violations:\n  ${v.join('\n  ')}`);
    process.exit(1);
  }
  console.log('module boundaries: ok');
}
