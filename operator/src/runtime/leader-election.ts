import type { CoordinationV1Api, V1Lease } from '@kubernetes/client-node';
import { V1MicroTime } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from './clock.ts';
import { systemClock } from './clock.ts';

/** The fields of a coordination.k8s.io/v1 Lease that leader election reads and writes. Times in epoch ms. */
export interface LeaseRecord {
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTime: number | undefined;
  renewTime: number | undefined;
  leaseTransitions: number;
}

/**
 * What this candidate last saw of the lease and when (by its own clock). Expiry is judged from the time the
 * record was last SEEN to change, never from the holder's renewTime, so clock skew between replicas is harmless
 * (client-go's rule).
 */
export interface Observation {
  record: LeaseRecord | undefined;
  observedAt: number;
}

export type LeaseDecision =
  | { action: 'create'; record: LeaseRecord }
  | { action: 'update'; record: LeaseRecord; acquired: boolean }
  | { action: 'wait'; holder: string; expiresAt: number };

function sameRecord(a: LeaseRecord | undefined, b: LeaseRecord | undefined): boolean {
  return (
    a === b ||
    (a !== undefined &&
      b !== undefined &&
      a.holderIdentity === b.holderIdentity &&
      a.leaseDurationSeconds === b.leaseDurationSeconds &&
      a.acquireTime === b.acquireTime &&
      a.renewTime === b.renewTime &&
      a.leaseTransitions === b.leaseTransitions)
  );
}

/** The new observation after reading `current` at `now`: the observed time moves only when the record changed. */
export function observeLease(prev: Observation, current: LeaseRecord | undefined, now: number): Observation {
  return sameRecord(prev.record, current) ? prev : { record: current, observedAt: now };
}

/**
 * Decides what candidate `identity` does with the lease it just read (`obs`, after {@link observeLease}):
 * create it when absent; wait while another holder's lease has not expired; otherwise take or renew it.
 * Pure; the caller performs the write with optimistic concurrency and treats a conflict as "wait".
 */
export function decideLease(obs: Observation, identity: string, now: number, leaseDurationMs: number): LeaseDecision {
  const cur = obs.record;
  const leaseDurationSeconds = Math.ceil(leaseDurationMs / 1000);
  if (!cur) {
    return {
      action: 'create',
      record: { holderIdentity: identity, leaseDurationSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0 },
    };
  }
  const heldByOther = cur.holderIdentity !== '' && cur.holderIdentity !== identity;
  // The holder's own duration governs expiry: a holder that released sets it to 1 s.
  const expiresAt = obs.observedAt + cur.leaseDurationSeconds * 1000;
  if (heldByOther && expiresAt > now) {
    return { action: 'wait', holder: cur.holderIdentity, expiresAt };
  }
  const renewing = cur.holderIdentity === identity;
  return {
    action: 'update',
    acquired: !renewing,
    record: {
      holderIdentity: identity,
      leaseDurationSeconds,
      acquireTime: renewing ? cur.acquireTime : now,
      renewTime: now,
      leaseTransitions: renewing ? cur.leaseTransitions : cur.leaseTransitions + 1,
    },
  };
}

/** True when a leader whose last successful renewal was at `lastRenewAt` must give up leadership now. */
export function renewDeadlinePassed(lastRenewAt: number, now: number, renewDeadlineMs: number): boolean {
  return now - lastRenewAt >= renewDeadlineMs;
}

/** The record written on graceful shutdown so a standby takes over at once (client-go's ReleaseOnCancel). */
export function releasedRecord(cur: LeaseRecord, now: number): LeaseRecord {
  return { ...cur, holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now };
}

export interface LeaderElectionConfig {
  namespace: string;
  name: string;
  identity: string;
  /** How long a standby waits after the lease last changed before taking it. @default 15_000 */
  leaseDurationMs: number;
  /** How long the leader keeps trying to renew before it gives up leadership. @default 10_000 */
  renewDeadlineMs: number;
  /** Interval between attempts to acquire or renew. @default 2_000 */
  retryPeriodMs: number;
}

export interface LeaderCallbacks {
  /** Called once when this candidate becomes leader. */
  onStartedLeading(): void;
  /** Called once when a leader cannot renew within the renew deadline. Not called after `stop`. */
  onStoppedLeading(): void;
  onNewLeader?(identity: string): void;
}

export interface LeaderMetrics {
  isLeader(name: string, leader: boolean): void;
}

function toMs(t: unknown): number | undefined {
  if (t === undefined || t === null) return undefined;
  const ms = t instanceof Date ? t.getTime() : typeof t === 'string' ? new Date(t).getTime() : NaN;
  return Number.isNaN(ms) ? undefined : ms;
}

export function leaseToRecord(lease: V1Lease): LeaseRecord {
  const s = lease.spec ?? {};
  return {
    holderIdentity: s.holderIdentity ?? '',
    leaseDurationSeconds: s.leaseDurationSeconds ?? 0,
    acquireTime: toMs(s.acquireTime),
    renewTime: toMs(s.renewTime),
    leaseTransitions: s.leaseTransitions ?? 0,
  };
}

function recordToSpec(r: LeaseRecord): NonNullable<V1Lease['spec']> {
  return {
    holderIdentity: r.holderIdentity,
    leaseDurationSeconds: r.leaseDurationSeconds,
    leaseTransitions: r.leaseTransitions,
    ...(r.acquireTime === undefined ? {} : { acquireTime: new V1MicroTime(r.acquireTime) }),
    ...(r.renewTime === undefined ? {} : { renewTime: new V1MicroTime(r.renewTime) }),
  };
}

function statusCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/**
 * Leader election on a coordination.k8s.io/v1 Lease with client-go's algorithm: every retry period read the
 * lease; take it when absent, released or expired (judged by local observation time); renew it while leading;
 * give up when renewal has failed for the renew deadline. `stop()` releases the lease if held.
 */
export class LeaderElector {
  readonly #api: CoordinationV1Api;
  readonly #cfg: LeaderElectionConfig;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #metrics: LeaderMetrics | undefined;
  #callbacks: LeaderCallbacks | undefined;
  #obs: Observation = { record: undefined, observedAt: 0 };
  #lease: V1Lease | undefined;
  #leading = false;
  #lastRenew = 0;
  #lastLeader = '';
  #stopped = false;
  #timer: TimerHandle | undefined;
  #tick: Promise<void> = Promise.resolve();

  constructor(
    api: CoordinationV1Api,
    cfg: LeaderElectionConfig,
    log: Logger,
    clock: Clock = systemClock,
    metrics?: LeaderMetrics,
  ) {
    if (!(
      cfg.leaseDurationMs > cfg.renewDeadlineMs &&
      cfg.renewDeadlineMs > cfg.retryPeriodMs &&
      cfg.retryPeriodMs > 0
    )) {
      throw new RangeError(
        `Expected leaseDuration > renewDeadline > retryPeriod > 0, got ${cfg.leaseDurationMs}, ${cfg.renewDeadlineMs}, ${cfg.retryPeriodMs}`,
      );
    }
    this.#api = api;
    this.#cfg = cfg;
    this.#log = log.child({ lease: `${cfg.namespace}/${cfg.name}`, identity: cfg.identity });
    this.#clock = clock;
    this.#metrics = metrics;
  }

  get isLeader(): boolean {
    return this.#leading;
  }

  /**
   * True while this candidate is healthy: a standby always, a leader while its last renewal is within the renew
   * deadline plus a grace of one retry period (controller-runtime's leader-election health check).
   */
  healthy(): boolean {
    if (!this.#leading) return true;
    return this.#clock.now() - this.#lastRenew < this.#cfg.renewDeadlineMs + this.#cfg.retryPeriodMs;
  }

  run(callbacks: LeaderCallbacks): void {
    this.#callbacks = callbacks;
    this.#metrics?.isLeader(this.#cfg.name, false);
    this.#schedule(0);
  }

  /** Stops campaigning; when leading, releases the lease so a standby takes over without waiting. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#timer?.cancel();
    await this.#tick;
    if (!this.#leading || !this.#lease) return;
    this.#leading = false;
    this.#metrics?.isLeader(this.#cfg.name, false);
    const released = releasedRecord(leaseToRecord(this.#lease), this.#clock.now());
    try {
      await this.#api.replaceNamespacedLease({
        name: this.#cfg.name,
        namespace: this.#cfg.namespace,
        body: { ...this.#lease, spec: recordToSpec(released) },
      });
      this.#log.info('released the leader lease');
    } catch (err) {
      this.#log.warn({ err }, 'could not release the leader lease; a standby takes over when it expires');
    }
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = this.#clock.setTimer(() => {
      this.#tick = this.#attempt().then(() => this.#schedule(this.#cfg.retryPeriodMs));
    }, delayMs);
  }

  async #attempt(): Promise<void> {
    const now = this.#clock.now();
    let ok = false;
    try {
      ok = await this.#tryAcquireOrRenew();
    } catch (err) {
      this.#log.warn({ err }, 'leader election attempt failed');
    }
    if (this.#stopped) return;
    if (ok) {
      this.#lastRenew = now;
      if (!this.#leading) {
        this.#leading = true;
        this.#metrics?.isLeader(this.#cfg.name, true);
        this.#log.info('became leader');
        this.#callbacks?.onStartedLeading();
      }
    } else if (this.#leading && renewDeadlinePassed(this.#lastRenew, this.#clock.now(), this.#cfg.renewDeadlineMs)) {
      this.#leading = false;
      this.#stopped = true;
      this.#metrics?.isLeader(this.#cfg.name, false);
      this.#log.error({ lastRenewAt: new Date(this.#lastRenew).toISOString() }, 'leader lease lost');
      this.#callbacks?.onStoppedLeading();
    }
  }

  async #tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity, leaseDurationMs } = this.#cfg;
    let lease: V1Lease | undefined;
    try {
      lease = await this.#api.readNamespacedLease({ name, namespace });
    } catch (err) {
      if (statusCode(err) !== 404) throw err;
    }
    const now = this.#clock.now();
    this.#obs = observeLease(this.#obs, lease ? leaseToRecord(lease) : undefined, now);
    const decision = decideLease(this.#obs, identity, now, leaseDurationMs);
    if (decision.action === 'wait') {
      this.#noteLeader(decision.holder);
      return false;
    }
    try {
      if (decision.action === 'create') {
        this.#lease = await this.#api.createNamespacedLease({
          namespace,
          body: {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name, namespace },
            spec: recordToSpec(decision.record),
          },
        });
      } else {
        // resourceVersion in the body makes this a compare-and-swap: a concurrent writer gets 409.
        this.#lease = await this.#api.replaceNamespacedLease({
          name,
          namespace,
          body: { ...lease, metadata: { ...lease?.metadata, name, namespace }, spec: recordToSpec(decision.record) },
        });
      }
    } catch (err) {
      if (statusCode(err) === 409) return false;
      throw err;
    }
    this.#obs = { record: decision.record, observedAt: now };
    this.#noteLeader(identity);
    return true;
  }

  #noteLeader(holder: string): void {
    if (holder === this.#lastLeader) return;
    this.#lastLeader = holder;
    this.#log.info({ leader: holder }, 'new leader observed');
    this.#callbacks?.onNewLeader?.(holder);
  }
}
