/** A cancellable timer returned by {@link Clock.setTimer}. */
export interface TimerHandle {
  cancel(): void;
}

/**
 * The source of time for the work queue, leader election and planners. Production code uses
 * {@link systemClock}; tests inject a {@link FakeClock} and move time by hand.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Runs `fn` once after `delayMs` (clamped to >= 0). Timers never keep the process alive. */
  setTimer(fn: () => void, delayMs: number): TimerHandle;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, delayMs) {
    const t = setTimeout(fn, Math.max(0, delayMs));
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};

interface FakeTimer {
  at: number;
  seq: number;
  fn: () => void;
}

/** A clock that moves only when told. Timers due at the same instant fire in the order they were set. */
export class FakeClock implements Clock {
  #now: number;
  #seq = 0;
  #timers = new Set<FakeTimer>();

  constructor(startMs = Date.UTC(2026, 0, 1)) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  setTimer(fn: () => void, delayMs: number): TimerHandle {
    const timer: FakeTimer = { at: this.#now + Math.max(0, delayMs), seq: this.#seq++, fn };
    this.#timers.add(timer);
    return { cancel: () => this.#timers.delete(timer) };
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in due order, at its due time. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let next: FakeTimer | undefined;
      for (const t of this.#timers) {
        if (t.at <= end && (!next || t.at < next.at || (t.at === next.at && t.seq < next.seq))) next = t;
      }
      if (!next) break;
      this.#timers.delete(next);
      this.#now = Math.max(this.#now, next.at);
      next.fn();
    }
    this.#now = end;
  }

  /** Delays of the pending timers relative to now, soonest first. */
  pendingDelays(): number[] {
    return [...this.#timers].map((t) => t.at - this.#now).sort((a, b) => a - b);
  }
}
