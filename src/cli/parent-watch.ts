/**
 * A server started by an npm script (`npm start`) stops when the process that started it is gone.
 *
 * npm runs a script through a shell (`sh -c "node … serve --demo"`), and Debian's sh (dash) waits
 * for node instead of replacing itself with it. A SIGTERM sent to npm's pid reaches that shell,
 * which dies without passing it on: the server was left running, adopted by init, still holding
 * the data directory and the port. So, under npm (which sets `npm_lifecycle_event` for its
 * scripts), the server watches its parent pid and shuts down as for SIGTERM when it changes (an
 * orphan is re-parented on Linux and macOS; on Windows the pid stays and this never fires).
 * Ctrl-C (the terminal signals the whole process group) and systemd (the whole cgroup) never
 * needed it. A container's stop signals its first process only: run `tandem serve` itself there.
 */
export interface ParentWatch {
  stop(): void;
}

export function watchParent(opts: {
  onGone: () => void;
  /** The current parent pid (process.ppid). */
  ppid?: () => number;
  /** Runs `check` every `ms` until the returned function is called (a real timer that keeps nothing alive). */
  every?: (check: () => void, ms: number) => () => void;
  intervalMs?: number;
}): ParentWatch {
  const ppid = opts.ppid ?? (() => process.ppid);
  const every =
    opts.every ??
    ((check: () => void, ms: number) => {
      const timer = setInterval(check, ms);
      timer.unref();
      return () => clearInterval(timer);
    });
  const first = ppid();
  let stopped = false;
  const cancel = every(() => {
    if (stopped || ppid() === first) return;
    stopped = true;
    cancel();
    opts.onGone();
  }, opts.intervalMs ?? 1000);
  return {
    stop() {
      stopped = true;
      cancel();
    },
  };
}

/** Whether this process was started by an npm script (npm sets this for the script's processes). */
export const startedByNpmScript = (env: NodeJS.ProcessEnv = process.env) => typeof env.npm_lifecycle_event === 'string' && env.npm_lifecycle_event !== '';
