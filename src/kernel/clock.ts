/**
 * Time comes from a Clock. Production uses the system clock; a sandbox workspace has a test
 * clock that is frozen and moves only when advanced. A command reads `now()` once and passes
 * the instant down as `asOf`.
 */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A frozen clock for tests and simulations: it never moves by itself. */
export class ManualClock implements Clock {
  private t: number;
  constructor(start: Date | string) {
    this.t = new Date(start).getTime();
  }
  now(): Date {
    return new Date(this.t);
  }
  set(to: Date | string): void {
    const next = new Date(to).getTime();
    if (next < this.t) throw new Error('ManualClock only moves forward');
    this.t = next;
  }
  advance(ms: number): void {
    if (ms < 0) throw new Error('ManualClock only moves forward');
    this.t += ms;
  }
}
