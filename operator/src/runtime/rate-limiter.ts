/** Decides how long a key waits before its next retry (client-go's `workqueue.TypedRateLimiter`). */
export interface RateLimiter {
  /** The delay in ms before `key` may be retried; counts one more failure for it. */
  when(key: string): number;
  /** Forgets the failures of `key` (after a success or a terminal error). */
  forget(key: string): void;
  /** How many failures of `key` are counted now. */
  numRequeues(key: string): number;
}

export interface ExponentialBackoffOptions {
  /** Delay after the first failure. @default 5 (ms, as controller-runtime) */
  baseDelayMs?: number;
  /** Upper bound of the delay. @default 1_000_000 (1000 s, as controller-runtime) */
  maxDelayMs?: number;
}

/**
 * Per-key exponential backoff: base * 2^failures, capped at max. With the defaults: 5 ms, 10 ms, 20 ms, ...,
 * reaching the 1000 s cap after 18 failures (about 17 minutes), like controller-runtime's default.
 */
export class ExponentialBackoffRateLimiter implements RateLimiter {
  readonly #base: number;
  readonly #max: number;
  readonly #failures = new Map<string, number>();

  constructor({ baseDelayMs = 5, maxDelayMs = 1_000_000 }: ExponentialBackoffOptions = {}) {
    if (!(baseDelayMs > 0) || !(maxDelayMs >= baseDelayMs)) {
      throw new RangeError(`Expected 0 < baseDelayMs <= maxDelayMs, got ${baseDelayMs} and ${maxDelayMs}`);
    }
    this.#base = baseDelayMs;
    this.#max = maxDelayMs;
  }

  when(key: string): number {
    const n = this.#failures.get(key) ?? 0;
    this.#failures.set(key, n + 1);
    // 2^n overflows to Infinity long after the cap; Math.min keeps it finite.
    return Math.min(this.#base * 2 ** n, this.#max);
  }

  forget(key: string): void {
    this.#failures.delete(key);
  }

  numRequeues(key: string): number {
    return this.#failures.get(key) ?? 0;
  }
}
