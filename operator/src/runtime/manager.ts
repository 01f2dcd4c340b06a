import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Controller } from './controller.ts';
import type { Informer } from './informer.ts';
import { keyOf } from './keys.ts';
import type { LeaderCallbacks } from './leader-election.ts';

/** What the manager needs of a leader elector (LeaderElector; a fake in unit tests). */
export interface Elector {
  run(callbacks: LeaderCallbacks): void;
  stop(): Promise<void>;
  healthy(): boolean;
}

export interface ManagerOptions {
  log: Logger;
  /** Absent: this process reconciles without an election (a single replica, or tests). */
  elector?: Elector;
  /** How long `stop` waits for in-flight reconciles. */
  gracefulShutdownTimeoutMs: number;
  /** Called when leadership is lost; the process must exit, as client-go's and controller-runtime's do. */
  onLeadershipLost(): void;
}

/**
 * Owns the informers and controllers of one process. Informers run in every replica (a standby keeps a warm
 * cache and so takes over fast); workers run only in the leader. Informer events enqueue keys; a standby's
 * queue holds at most one entry per key and is reconciled from its first moment as leader.
 */
export class Manager {
  readonly #log: Logger;
  readonly #opts: ManagerOptions;
  readonly #informers: Informer<KubernetesObject>[] = [];
  readonly #controllers: Controller[] = [];
  /** The informers each controller reads; a controller starts once its own have synced. */
  readonly #sources = new Map<Controller, Informer<KubernetesObject>[]>();
  #leading = false;
  #started = false;
  #stopping: Promise<void> | undefined;

  constructor(opts: ManagerOptions) {
    this.#opts = opts;
    this.#log = opts.log;
  }

  /** Feeds the keys of `informer`'s objects to `controller`. */
  watch<T extends KubernetesObject>(controller: Controller, informer: Informer<T>): void {
    const enqueue = (obj: T) => controller.enqueue(keyOf(obj));
    informer.addHandler({ add: enqueue, update: enqueue, delete: enqueue, resync: enqueue });
    if (!this.#informers.includes(informer)) {
      this.#informers.push(informer);
    }
    if (!this.#controllers.includes(controller)) this.#controllers.push(controller);
    const sources = this.#sources.get(controller) ?? [];
    if (!sources.includes(informer)) sources.push(informer);
    this.#sources.set(controller, sources);
  }

  get isLeader(): boolean {
    return this.#leading;
  }

  /** True once every informer has listed once. */
  synced(): boolean {
    return this.#informers.every((i) => i.hasSynced());
  }

  /** Health of the election (a leader that stopped renewing is unhealthy). */
  healthy(): boolean {
    return this.#opts.elector?.healthy() ?? true;
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    for (const i of this.#informers) i.start();
    if (!this.#opts.elector) {
      void this.#lead();
      return;
    }
    this.#opts.elector.run({
      onStartedLeading: () => void this.#lead(),
      onStoppedLeading: () => {
        this.#log.error('leadership lost; stopping');
        this.#opts.onLeadershipLost();
      },
    });
  }

  /**
   * Starts each controller once its own informers have synced, so a kind whose CRD is missing (its informer
   * keeps retrying) does not hold back the others.
   */
  async #lead(): Promise<void> {
    this.#leading = true;
    await Promise.all(
      this.#controllers.map(async (c) => {
        const sources = this.#sources.get(c) ?? [];
        await Promise.all(sources.map((i) => i.waitForSync()));
        if (this.#stopping) return;
        this.#log.info(
          { controller: c.name, informers: sources.map((i) => i.name) },
          'caches synced; starting workers',
        );
        c.start();
      }),
    );
  }

  /**
   * Graceful stop: stop handing out keys and wait (up to the timeout) for in-flight reconciles, then release
   * the lease, then stop the informers. Idempotent.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#log.info('stopping: finishing in-flight reconciles');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.#opts.gracefulShutdownTimeoutMs);
    });
    const drained = Promise.all(this.#controllers.map((c) => c.stop())).then(() => 'drained' as const);
    const how = await Promise.race([drained, timedOut]);
    clearTimeout(timer);
    if (how === 'timeout') {
      this.#log.warn(
        { timeoutMs: this.#opts.gracefulShutdownTimeoutMs },
        'in-flight reconciles did not finish in time',
      );
    }
    this.#leading = false;
    // Release only after the last write: the next leader must not overlap with our in-flight work.
    await this.#opts.elector?.stop();
    await Promise.all(this.#informers.map((i) => i.stop()));
    this.#log.info({ how }, 'stopped');
  }
}
