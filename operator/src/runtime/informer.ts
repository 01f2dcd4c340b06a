import type { KubeConfig, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { ListWatch, Watch } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from './clock.ts';
import { systemClock } from './clock.ts';

/** The part of client-node's ListWatch the informer drives; a seam for unit tests. */
export interface ListWatchSource<T extends KubernetesObject> {
  on(verb: 'add' | 'update' | 'delete', cb: (obj: T) => void): void;
  on(verb: 'error', cb: (err?: unknown) => void): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  get(name: string, namespace?: string): T | undefined;
  list(namespace?: string): readonly T[];
}

/** What an informer tells its subscribers. Subscribers must only record or enqueue; they must not block. */
export interface InformerHandler<T extends KubernetesObject> {
  add?(obj: T): void;
  update?(obj: T): void;
  delete?(obj: T): void;
  /** Periodic replay of every cached object, as insurance against a missed event. */
  resync?(obj: T): void;
}

/** Hooks for observability (logs are written by the informer itself). */
export interface InformerMetrics {
  restarted(informer: string): void;
}

export interface InformerOptions<T extends KubernetesObject> {
  /** Name used in logs and metrics, e.g. `trainingpipelines` or `trainingpipelines/ns-a`. */
  name: string;
  source: ListWatchSource<T>;
  log: Logger;
  clock?: Clock;
  /** Delay before the first restart after an error; doubles per consecutive failure. @default 200 ms */
  restartBaseDelayMs?: number;
  /** Cap of the restart delay. @default 30_000 ms */
  restartMaxDelayMs?: number;
  /** Interval of the resync replay; 0 disables it. @default 10 hours (controller-runtime's SyncPeriod) */
  resyncPeriodMs?: number;
  metrics?: InformerMetrics;
}

/**
 * A shared informer: list, then watch from the listed resourceVersion, keeping a cache of the objects.
 * Unlike client-node's ListWatch alone it restarts itself after ANY error (connection refused, 5xx, a failed
 * list), with exponential backoff, resuming from the last resourceVersion it saw (a 410 Gone makes the source
 * relist); and it replays the cache every `resyncPeriodMs` with ±10% jitter.
 */
export class Informer<T extends KubernetesObject> {
  readonly name: string;
  readonly #source: ListWatchSource<T>;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #baseDelay: number;
  readonly #maxDelay: number;
  readonly #resyncPeriod: number;
  readonly #metrics: InformerMetrics | undefined;
  readonly #handlers: InformerHandler<T>[] = [];
  #failures = 0;
  #erroredDuringStart = false;
  #starting = false;
  #synced = false;
  #stopped = true;
  #restartTimer: TimerHandle | undefined;
  #resyncTimer: TimerHandle | undefined;
  #syncWaiters: (() => void)[] = [];

  constructor(opts: InformerOptions<T>) {
    this.name = opts.name;
    this.#source = opts.source;
    this.#log = opts.log.child({ informer: opts.name });
    this.#clock = opts.clock ?? systemClock;
    this.#baseDelay = opts.restartBaseDelayMs ?? 200;
    this.#maxDelay = opts.restartMaxDelayMs ?? 30_000;
    this.#resyncPeriod = opts.resyncPeriodMs ?? 10 * 60 * 60 * 1000;
    this.#metrics = opts.metrics;
    this.#source.on('add', (o) => this.#dispatch('add', o));
    this.#source.on('update', (o) => this.#dispatch('update', o));
    this.#source.on('delete', (o) => this.#dispatch('delete', o));
    this.#source.on('error', (err) => this.#onError(err));
  }

  addHandler(handler: InformerHandler<T>): void {
    this.#handlers.push(handler);
  }

  /** Starts listing and watching; returns at once. Use {@link waitForSync} to wait for the first list. */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    void this.#run();
    this.#scheduleResync();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#restartTimer?.cancel();
    this.#restartTimer = undefined;
    this.#resyncTimer?.cancel();
    this.#resyncTimer = undefined;
    await this.#source.stop();
  }

  /** True once the first list has been loaded into the cache. */
  hasSynced(): boolean {
    return this.#synced;
  }

  waitForSync(): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise((resolve) => this.#syncWaiters.push(resolve));
  }

  get(name: string, namespace?: string): T | undefined {
    return this.#source.get(name, namespace);
  }

  list(namespace?: string): readonly T[] {
    return this.#source.list(namespace);
  }

  async #run(): Promise<void> {
    if (this.#stopped) return;
    this.#starting = true;
    this.#erroredDuringStart = false;
    try {
      await this.#source.start();
    } catch (err) {
      this.#erroredDuringStart = true;
      this.#starting = false;
      this.#onError(err);
      return;
    } finally {
      this.#starting = false;
    }
    if (this.#erroredDuringStart || this.#stopped) return;
    // The list succeeded and the watch is open.
    if (this.#failures > 0) this.#log.info({ failures: this.#failures }, 'informer recovered');
    this.#failures = 0;
    if (!this.#synced) {
      this.#synced = true;
      const waiters = this.#syncWaiters;
      this.#syncWaiters = [];
      for (const w of waiters) w();
    }
  }

  #onError(err: unknown): void {
    if (this.#starting) this.#erroredDuringStart = true;
    if (this.#stopped || this.#restartTimer) return;
    const delay = Math.min(this.#baseDelay * 2 ** this.#failures, this.#maxDelay);
    this.#failures++;
    this.#log.warn({ err, delayMs: delay, failures: this.#failures }, 'informer failed; restarting');
    this.#metrics?.restarted(this.name);
    this.#restartTimer = this.#clock.setTimer(() => {
      this.#restartTimer = undefined;
      void this.#run();
    }, delay);
  }

  #dispatch(verb: 'add' | 'update' | 'delete', obj: T): void {
    for (const h of this.#handlers) {
      try {
        h[verb]?.(obj);
      } catch (err) {
        this.#log.error({ err, verb }, 'informer handler threw');
      }
    }
  }

  #scheduleResync(): void {
    if (this.#resyncPeriod <= 0 || this.#stopped) return;
    const jitter = 1 + (Math.random() * 0.2 - 0.1);
    this.#resyncTimer = this.#clock.setTimer(() => {
      this.#resyncTimer = undefined;
      if (this.#synced) {
        for (const obj of this.#source.list()) {
          for (const h of this.#handlers) h.resync?.(obj);
        }
      }
      this.#scheduleResync();
    }, this.#resyncPeriod * jitter);
  }
}

/**
 * Drops `metadata.managedFields` from an object before it is cached: the operator never reads them, and on
 * small custom resources they are about half the bytes (controller-runtime offers the same transform,
 * `cache.TransformStripManagedFields`).
 */
export function stripManagedFields<T extends KubernetesObject>(obj: T): T {
  if (obj.metadata?.managedFields) delete obj.metadata.managedFields;
  return obj;
}

/** A Watch that passes every object through `transform` before its callback sees it. */
class TransformingWatch extends Watch {
  readonly #transform: (obj: KubernetesObject) => KubernetesObject;
  constructor(kc: KubeConfig, transform: (obj: KubernetesObject) => KubernetesObject) {
    super(kc);
    this.#transform = transform;
  }
  override watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    return super.watch(
      path,
      queryParams,
      (phase, obj, watchObj) =>
        callback(phase, obj && typeof obj === 'object' ? this.#transform(obj as KubernetesObject) : obj, watchObj),
      done,
    );
  }
}

/**
 * A ListWatch source over a raw API path (e.g. `/apis/mlops.dev/v1alpha1/namespaces/ml/modelversions`) and a
 * list call that lists the same collection. Cached objects carry no managedFields.
 */
export function listWatchSource<T extends KubernetesObject>(
  kc: KubeConfig,
  path: string,
  list: () => Promise<KubernetesListObject<T>>,
  labelSelector?: string,
): ListWatchSource<T> {
  const strippedList = async (): Promise<KubernetesListObject<T>> => {
    const l = await list();
    for (const item of l.items) stripManagedFields(item);
    return l;
  };
  return new ListWatch<T>(path, new TransformingWatch(kc, stripManagedFields), strippedList, false, labelSelector);
}
