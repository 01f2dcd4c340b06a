import type { Clock } from '../../runtime/clock.ts';
import type { GateRun } from './plan.ts';

/** One evaluation to run: identified by the object (key), its uid and generation. */
export interface EvaluationTask {
  key: string;
  uid: string;
  generation: number;
  /** `namespace/model`: tasks of one model run one at a time. */
  model: string;
  /** spec.version: among waiting tasks of a model, the lowest version runs first. */
  version: number;
  /**
   * Evaluates and writes the final status. `started` reports the baseline chosen, once the model's lock is held.
   * Resolves when the final status is written; rejects with a `RetryableError`-like error to be retried.
   */
  run(started: (baseline: string | undefined) => void, signal: AbortSignal, attempt: number): Promise<void>;
}

/** An evaluation that failed in a way worth retrying later (storage unavailable, API server errors). */
export interface RetryInfo {
  reason: string;
  message: string;
}

interface Entry {
  task: EvaluationTask;
  run: GateRun;
  attempts: number;
}

/**
 * Runs evaluations serialized per model, so two candidates of one model never race: the second starts only after
 * the first wrote its verdict, and then sees it when it picks its baseline. Different models run in parallel up
 * to `maxConcurrent`. State is per process and per object generation; after a restart, reconciles resubmit.
 */
export class EvaluationQueue {
  readonly #entries = new Map<string, Entry>();
  readonly #busyModels = new Set<string>();
  readonly #onChange: (key: string) => void;
  readonly #classify: (err: unknown, attempts: number) => RetryInfo | undefined;
  readonly #retryDelayMs: (attempts: number) => number;
  readonly #clock: Clock;
  readonly #maxConcurrent: number;
  readonly #isBlocked: (task: EvaluationTask, known: (key: string) => boolean) => boolean;
  readonly #abort = new AbortController();
  #running = 0;
  readonly #inFlight = new Set<Promise<void>>();

  /**
   * @param onChange called whenever a task's state changes: enqueue a reconcile of the key.
   * @param classify turns a failure of `run` into a retry (reason, message) or undefined for "give up" (the task
   *   then has written nothing; it is dropped and the next reconcile resubmits).
   */
  constructor(opts: {
    onChange: (key: string) => void;
    classify: (err: unknown, attempts: number) => RetryInfo | undefined;
    retryDelayMs: (attempts: number) => number;
    clock: Clock;
    maxConcurrent?: number;
    /**
     * True while a task must wait although its model is free: the controller says so while an older version of
     * the model exists that has not reached the queue yet, so versions created together run oldest first.
     */
    isBlocked?: (task: EvaluationTask, known: (key: string) => boolean) => boolean;
  }) {
    this.#isBlocked = opts.isBlocked ?? (() => false);
    this.#onChange = opts.onChange;
    this.#classify = opts.classify;
    this.#retryDelayMs = opts.retryDelayMs;
    this.#clock = opts.clock;
    this.#maxConcurrent = Math.max(1, opts.maxConcurrent ?? 1);
  }

  /** The state of the evaluation of this object generation. */
  state(key: string, uid: string, generation: number): GateRun {
    const e = this.#entries.get(key);
    if (!e || e.task.uid !== uid || e.task.generation !== generation) return { state: 'none' };
    if (e.run.state === 'queued') return { state: 'queued', ahead: this.#ahead(e) };
    return e.run;
  }

  /** Queues a task (again, after a due retry). A task already queued or running for the same generation is kept. */
  submit(task: EvaluationTask): void {
    const prev = this.#entries.get(task.key);
    if (prev && prev.task.uid === task.uid && prev.task.generation === task.generation) {
      if (prev.run.state === 'queued' || prev.run.state === 'running' || prev.run.state === 'done') return;
    }
    const attempts = prev && prev.task.uid === task.uid ? prev.attempts : 0;
    this.#entries.set(task.key, { task, run: { state: 'queued', ahead: 0 }, attempts });
    this.#onChange(task.key);
    this.#pump();
  }

  /** Forgets an object that was deleted. A running evaluation finishes (its status write then fails harmlessly). */
  forget(key: string): void {
    const e = this.#entries.get(key);
    if (e && e.run.state !== 'running') this.#entries.delete(key);
  }

  /** Forgets every task whose object no longer exists (deleted while queued, retrying or done). */
  prune(exists: (key: string, uid: string) => boolean): void {
    for (const [key, e] of this.#entries) {
      if (e.run.state !== 'running' && !exists(key, e.task.uid)) this.#entries.delete(key);
    }
  }

  /** Aborts running evaluations and waits for them to stop. */
  async stop(): Promise<void> {
    this.#abort.abort(new Error('operator stopping'));
    await Promise.allSettled([...this.#inFlight]);
  }

  #ahead(e: Entry): number {
    let n = 0;
    for (const o of this.#entries.values()) {
      if (o === e || o.task.model !== e.task.model) continue;
      if (o.run.state === 'running') n++;
      else if (o.run.state === 'queued' && o.task.version < e.task.version) n++;
    }
    return n;
  }

  #pump(): void {
    while (this.#running < this.#maxConcurrent) {
      const next = this.#next();
      if (!next) return;
      this.#start(next);
    }
  }

  /** Starts what can start now; for reconciles to call, so a task blocked on another object moves on. */
  poke(): void {
    if (!this.#abort.signal.aborted) this.#pump();
  }

  #next(): Entry | undefined {
    const best = new Map<string, Entry>();
    for (const e of this.#entries.values()) {
      if (e.run.state !== 'queued' || this.#busyModels.has(e.task.model)) continue;
      const b = best.get(e.task.model);
      if (!b || e.task.version < b.task.version) best.set(e.task.model, e);
    }
    const known = (key: string): boolean => this.#entries.has(key);
    for (const e of best.values()) if (!this.#isBlocked(e.task, known)) return e;
    return undefined;
  }

  #start(e: Entry): void {
    const { task } = e;
    this.#busyModels.add(task.model);
    this.#running++;
    e.run = { state: 'running' };
    e.attempts++;
    this.#onChange(task.key);
    // Other waiting tasks of this model are one further behind.
    for (const o of this.#entries.values())
      if (o !== e && o.task.model === task.model && o.run.state === 'queued') this.#onChange(o.task.key);
    const started = (baseline: string | undefined): void => {
      e.run = baseline ? { state: 'running', baseline } : { state: 'running' };
      this.#onChange(task.key);
    };
    const p = task
      .run(started, this.#abort.signal, e.attempts)
      .then(
        () => {
          e.run = { state: 'done' };
        },
        (err: unknown) => {
          const retry = this.#classify(err, e.attempts);
          if (!retry) {
            this.#entries.delete(task.key);
            return;
          }
          e.run = {
            state: 'retrying',
            attempts: e.attempts,
            retryAtMs: this.#clock.now() + this.#retryDelayMs(e.attempts),
            reason: retry.reason,
            message: retry.message,
          };
        },
      )
      .finally(() => {
        this.#busyModels.delete(task.model);
        this.#running--;
        this.#inFlight.delete(p);
        this.#onChange(task.key);
        for (const o of this.#entries.values())
          if (o.task.model === task.model && o.run.state === 'queued') this.#onChange(o.task.key);
        if (!this.#abort.signal.aborted) this.#pump();
      });
    this.#inFlight.add(p);
  }
}
