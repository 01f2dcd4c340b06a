import type { Clock, TimerHandle } from './clock.ts';
import { systemClock } from './clock.ts';
import type { RateLimiter } from './rate-limiter.ts';
import { ExponentialBackoffRateLimiter } from './rate-limiter.ts';

/** Hooks the queue calls so observability can count without the queue depending on a metrics library. */
export interface WorkQueueMetrics {
  /** A key entered the queue (also counted when it collapses into one already queued). */
  added(): void;
  depth(n: number): void;
  /** Seconds a key waited between entering the queue and being handed to a worker. */
  queueLatency(seconds: number): void;
  /** Seconds a worker held a key. */
  workDuration(seconds: number): void;
  /** A key was requeued through the rate limiter. */
  retried(): void;
}

const noMetrics: WorkQueueMetrics = {
  added: () => {},
  depth: () => {},
  queueLatency: () => {},
  workDuration: () => {},
  retried: () => {},
};

export interface WorkQueueOptions {
  clock?: Clock;
  rateLimiter?: RateLimiter;
  metrics?: WorkQueueMetrics;
}

/**
 * A keyed work queue with client-go's semantics:
 * - a key added while already queued is queued once (the dirty set);
 * - a key handed to a worker is not handed out again until `done(key)`; an add meanwhile is remembered and
 *   the key is queued again at `done`, so one key never runs on two workers at once;
 * - distinct keys are handed to as many workers as ask;
 * - `addAfter` delays a key (the earliest pending time wins), `addRateLimited` delays it by the rate limiter.
 * After `shutDown` no key is handed out any more; `get` resolves `undefined`.
 */
export class WorkQueue {
  readonly #clock: Clock;
  readonly #limiter: RateLimiter;
  readonly #metrics: WorkQueueMetrics;
  /** Keys ready to hand out, in order; every one is also in #dirty. */
  #queue: string[] = [];
  #head = 0;
  /** Keys that need processing: queued, or re-added while being processed. Value: when they were added. */
  readonly #dirty = new Map<string, number>();
  /** Keys held by a worker. Value: when they were handed out. */
  readonly #processing = new Map<string, number>();
  /** Keys waiting for a delay to pass. */
  readonly #waiting = new Map<string, { readyAt: number; timer: TimerHandle }>();
  #getters: ((key: string | undefined) => void)[] = [];
  #drained: (() => void)[] = [];
  #shuttingDown = false;

  constructor({ clock = systemClock, rateLimiter, metrics = noMetrics }: WorkQueueOptions = {}) {
    this.#clock = clock;
    this.#limiter = rateLimiter ?? new ExponentialBackoffRateLimiter();
    this.#metrics = metrics;
  }

  /** Marks `key` as needing processing. */
  add(key: string): void {
    if (this.#shuttingDown) return;
    this.#metrics.added();
    if (this.#dirty.has(key)) return;
    this.#dirty.set(key, this.#clock.now());
    if (this.#processing.has(key)) return;
    this.#enqueue(key);
  }

  /** Adds `key` after `delayMs`; a non-positive delay adds it now. A sooner pending delay for the key wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.#shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const readyAt = this.#clock.now() + delayMs;
    const pending = this.#waiting.get(key);
    if (pending && pending.readyAt <= readyAt) return;
    pending?.timer.cancel();
    const timer = this.#clock.setTimer(() => {
      this.#waiting.delete(key);
      this.add(key);
    }, delayMs);
    this.#waiting.set(key, { readyAt, timer });
  }

  /** Adds `key` after the rate limiter's delay for it (one more failure counted). Returns the delay in ms. */
  addRateLimited(key: string): number {
    const delay = this.#limiter.when(key);
    this.#metrics.retried();
    this.addAfter(key, delay);
    return delay;
  }

  /** Resets the rate limiter's failure count for `key`. */
  forget(key: string): void {
    this.#limiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.#limiter.numRequeues(key);
  }

  /** Waits for the next key; `undefined` once the queue is shutting down. Pair every key with `done(key)`. */
  get(): Promise<string | undefined> {
    if (this.#shuttingDown) return Promise.resolve(undefined);
    const key = this.#dequeue();
    if (key !== undefined) return Promise.resolve(key);
    return new Promise((resolve) => this.#getters.push(resolve));
  }

  /** Marks the work on `key` finished; queues it again if it was added meanwhile. */
  done(key: string): void {
    const startedAt = this.#processing.get(key);
    if (startedAt === undefined) return;
    this.#processing.delete(key);
    this.#metrics.workDuration((this.#clock.now() - startedAt) / 1000);
    if (this.#dirty.has(key) && !this.#shuttingDown) this.#enqueue(key);
    if (this.#processing.size === 0) this.#notifyDrained();
  }

  /** Keys ready to be handed out (not those held by workers or waiting for a delay). */
  len(): number {
    return this.#queue.length - this.#head;
  }

  /** Number of keys held by workers now. */
  inFlight(): number {
    return this.#processing.size;
  }

  /** Number of keys waiting for a delay (requeueAfter or backoff). */
  waiting(): number {
    return this.#waiting.size;
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /** Stops handing out keys and drops the queued and delayed ones; waiting `get` calls resolve `undefined`. */
  shutDown(): void {
    if (this.#shuttingDown) return;
    this.#shuttingDown = true;
    for (const { timer } of this.#waiting.values()) timer.cancel();
    this.#waiting.clear();
    this.#queue = [];
    this.#head = 0;
    this.#metrics.depth(0);
    const getters = this.#getters;
    this.#getters = [];
    for (const g of getters) g(undefined);
    if (this.#processing.size === 0) this.#notifyDrained();
  }

  /** `shutDown`, then resolves once every key handed out has been marked `done`. */
  shutDownWithDrain(): Promise<void> {
    this.shutDown();
    if (this.#processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drained.push(resolve));
  }

  #enqueue(key: string): void {
    const getter = this.#getters.shift();
    if (getter) {
      this.#handOut(key);
      getter(key);
      return;
    }
    this.#queue.push(key);
    this.#metrics.depth(this.len());
  }

  #dequeue(): string | undefined {
    if (this.#head >= this.#queue.length) return undefined;
    const key = this.#queue[this.#head++] as string;
    // Compact now and then so the array does not grow without bound under steady load.
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    this.#metrics.depth(this.len());
    this.#handOut(key);
    return key;
  }

  #handOut(key: string): void {
    const now = this.#clock.now();
    const addedAt = this.#dirty.get(key) ?? now;
    this.#dirty.delete(key);
    this.#processing.set(key, now);
    this.#metrics.queueLatency((now - addedAt) / 1000);
  }

  #notifyDrained(): void {
    const waiters = this.#drained;
    this.#drained = [];
    for (const w of waiters) w();
  }
}
