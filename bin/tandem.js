#!/usr/bin/env -S node --max-semi-space-size=64
// The `tandem` command. Sources are TypeScript run through tsx, so a fresh clone needs no build step.
// The shebang's node flags are the server's (src/cli/node-flags.ts).
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
