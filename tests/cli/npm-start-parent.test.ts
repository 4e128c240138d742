import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/tandem.js');

/**
 * `npm start` runs the server through `sh -c` (src/cli/parent-watch.ts). A SIGTERM to that shell
 * — what npm passes on when it is sent one — used to leave the server running, re-parented, with
 * the data directory and the port. Here a shell that does not exec (`…; echo`) starts the server
 * as npm would (npm_lifecycle_event set), is sent SIGTERM, and the server must then stop by itself,
 * cleanly. Waits on real processes (start-up, then at most a few seconds for the exit); no clock.
 */
describe('a server started by an npm script', { skip: process.platform === 'win32' ? 'no sh' : false }, () => {
  it('shuts down when the shell npm started it with is killed', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tandem-npm-start-'));
    let server = 0;
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    try {
      const shell = spawn('sh', ['-c', `"${process.execPath}" "${bin}" serve --port 0 --data-dir "${dir}"; echo shell-done`], {
        env: { ...process.env, npm_lifecycle_event: 'start', DATABASE_URL: '', TANDEM_CHECK_PROCESS: '0', LOG_LEVEL: 'silent' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      shell.stdout!.on('data', (b) => (out += b));
      shell.stderr!.on('data', (b) => (out += b));
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 90_000);
        shell.stdout!.on('data', () => {
          if (/ready in \d+ ms/.test(out)) {
            clearTimeout(timer);
            resolve();
          }
        });
        shell.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`the shell exited (${code}) before the server was ready: ${out}`));
        });
      });
      const children = readFileSync(`/proc/${shell.pid}/task/${shell.pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
      assert.equal(children.length, 1, `the shell has one child, the server: ${children}`);
      server = children[0];
      const shellGone = new Promise<void>((resolve) => shell.once('exit', () => resolve()));
      shell.kill('SIGTERM');
      await shellGone;
      assert.equal(alive(server), true, 'the shell died without passing the signal on: the server still runs, re-parented');
      for (let i = 0; alive(server); i++) {
        if (i > 300) assert.fail(`the server (pid ${server}) is still running 30 s after its shell died: ${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.match(out, /the npm process that started it is gone, shutting down/);
      assert.doesNotMatch(out, /shell-done/);
    } finally {
      if (server && alive(server)) process.kill(server, 'SIGKILL'); // a failed run leaves no server behind
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
