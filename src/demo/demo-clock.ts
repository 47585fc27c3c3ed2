// The demo's clock: real time by default, and for the maintenance-window scenario a simulated
// clock that jumps to a chosen instant and runs many times faster, so a night of windows across
// US time zones passes in seconds. It only moves forward.
import type { Clock } from '../core/index.js';

export class DemoClock implements Clock {
  private anchor: number;
  private realAnchor: number;
  private speed = 1;

  constructor(private readonly real: () => number = Date.now) {
    this.anchor = real();
    this.realAnchor = this.anchor;
  }

  now(): number {
    return this.anchor + (this.real() - this.realAnchor) * this.speed;
  }

  get rate(): number {
    return this.speed;
  }

  /** Runs `rate` times faster than real time from now on (1 = real time). */
  setRate(rate: number): void {
    if (!(rate > 0)) throw new RangeError('the clock rate must be positive');
    this.anchor = this.now();
    this.realAnchor = this.real();
    this.speed = rate;
  }

  /** Moves to `ms` if it is ahead (a clock the engine uses never goes back). */
  jumpTo(ms: number): void {
    this.anchor = Math.max(this.now(), ms);
    this.realAnchor = this.real();
  }
}
