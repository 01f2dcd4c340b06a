import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from './clock.ts';
import { systemClock } from './clock.ts';
import type { ObjectKey } from './keys.ts';
import { splitKey } from './keys.ts';
import type { Result } from './result.ts';
import { isTerminalError } from './result.ts';
import type { WorkQueue } from './workqueue.ts';

/** controller-runtime's values of the `result` label of `controller_runtime_reconcile_total`. */
export type ReconcileOutcome = 'success' | 'error' | 'requeue_after';

export interface ReconcileRequest {
  key: ObjectKey;
  namespace: string | undefined;
  name: string;
}

export interface ReconcileContext {
  /** Bound to {controller, kind, key, reconcileID} and, when the object is cached, generation. */
  log: Logger;
  reconcileID: string;
  clock: Clock;
}

/** One reconcile of one key. Throw to retry with backoff; throw a TerminalError to stop retrying. */
export type Reconcile = (req: ReconcileRequest, ctx: ReconcileContext) => Promise<Result | undefined>;

export interface ControllerMetrics {
  reconciled(controller: string, outcome: ReconcileOutcome, seconds: number): void;
  /** A reconcile failed; `terminal` when it will not be retried. */
  failed(controller: string, terminal: boolean): void;
  activeWorkers(controller: string, delta: number): void;
  maxConcurrent(controller: string, n: number): void;
}

export interface ControllerOptions {
  /** Controller name in logs and metrics, e.g. `trainingpipeline`. */
  name: string;
  kind: string;
  reconcile: Reconcile;
  queue: WorkQueue;
  log: Logger;
  /** Reconciles in parallel (distinct keys). @default 1 */
  workers?: number;
  clock?: Clock;
  metrics?: ControllerMetrics;
  /** The cached object's metadata.generation, bound into the per-reconcile logger. */
  generationOf?: (key: ObjectKey) => number | undefined;
}

/**
 * Runs `workers` loops that take keys from the queue and reconcile them, with controller-runtime's result
 * handling: an error requeues with per-key backoff, a TerminalError does not requeue, `requeueAfterMs` requeues
 * after that delay, success forgets the key's backoff.
 */
export class Controller {
  readonly name: string;
  readonly kind: string;
  readonly queue: WorkQueue;
  readonly #reconcile: Reconcile;
  readonly #log: Logger;
  readonly #workers: number;
  readonly #clock: Clock;
  readonly #metrics: ControllerMetrics | undefined;
  readonly #generationOf: ((key: ObjectKey) => number | undefined) | undefined;
  #running: Promise<void>[] = [];

  constructor(opts: ControllerOptions) {
    this.name = opts.name;
    this.kind = opts.kind;
    this.queue = opts.queue;
    this.#reconcile = opts.reconcile;
    this.#log = opts.log.child({ controller: opts.name, kind: opts.kind });
    this.#workers = Math.max(1, opts.workers ?? 1);
    this.#clock = opts.clock ?? systemClock;
    this.#metrics = opts.metrics;
    this.#generationOf = opts.generationOf;
  }

  enqueue(key: ObjectKey): void {
    this.queue.add(key);
  }

  /** Starts the workers. Call once. */
  start(): void {
    if (this.#running.length > 0) return;
    this.#metrics?.maxConcurrent(this.name, this.#workers);
    this.#log.info({ workers: this.#workers }, 'starting workers');
    for (let i = 0; i < this.#workers; i++) this.#running.push(this.#worker());
  }

  /** Stops handing out keys, lets in-flight reconciles finish, then resolves. */
  async stop(): Promise<void> {
    await this.queue.shutDownWithDrain();
    await Promise.all(this.#running);
    this.#log.info('workers stopped');
  }

  async #worker(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      try {
        await this.#processOne(key);
      } finally {
        this.queue.done(key);
      }
    }
  }

  /** Reconciles one key and requeues it as the outcome says. Never throws. */
  async #processOne(key: ObjectKey): Promise<void> {
    const reconcileID = randomUUID();
    const generation = this.#generationOf?.(key);
    const log = this.#log.child(generation === undefined ? { key, reconcileID } : { key, reconcileID, generation });
    const started = this.#clock.now();
    this.#metrics?.activeWorkers(this.name, 1);
    let outcome: ReconcileOutcome;
    try {
      const result = await this.#reconcile({ key, ...splitKey(key) }, { log, reconcileID, clock: this.#clock });
      const after = result?.requeueAfterMs ?? 0;
      this.queue.forget(key);
      if (after > 0) {
        this.queue.addAfter(key, after);
        outcome = 'requeue_after';
      } else {
        outcome = 'success';
      }
      log.debug({ outcome, requeueAfterMs: after, durationMs: this.#clock.now() - started }, 'reconciled');
    } catch (err) {
      outcome = 'error';
      if (isTerminalError(err)) {
        this.queue.forget(key);
        this.#metrics?.failed(this.name, true);
        log.error({ err }, 'reconcile failed with a terminal error; not retrying');
      } else {
        const delayMs = this.queue.addRateLimited(key);
        this.#metrics?.failed(this.name, false);
        log.warn({ err, retryInMs: delayMs, retries: this.queue.numRequeues(key) }, 'reconcile failed; retrying');
      }
    } finally {
      this.#metrics?.activeWorkers(this.name, -1);
    }
    this.#metrics?.reconciled(this.name, outcome, (this.#clock.now() - started) / 1000);
  }
}
