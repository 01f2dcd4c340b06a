import { randomBytes } from 'node:crypto';
import type { EventsV1Api, KubernetesObject } from '@kubernetes/client-node';
import { V1MicroTime } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Clock } from './clock.ts';
import { systemClock } from './clock.ts';

export type EventType = 'Normal' | 'Warning';

/**
 * Records Kubernetes Events about objects. Recording is best effort: it never fails or delays a reconcile
 * (client-go's recorder is asynchronous for the same reason).
 */
export interface EventRecorder {
  /**
   * @param reason CamelCase, e.g. `Reconciled`, `GatePassed`.
   * @param action What the controller did or is doing, CamelCase, e.g. `Reconcile`.
   * @param note Human-readable, at most 1 kB.
   * @returns at once; the write goes on in the background, and a failure is logged, not thrown.
   */
  event(regarding: KubernetesObject, type: EventType, reason: string, action: string, note: string): Promise<void>;
}

/** Events waiting to be written at most; beyond it new ones are dropped (client-go drops beyond 1000 queued). */
const MAX_QUEUED = 1000;
/** Events written at once: a burst (every object's first reconcile after a start) must not flood the API server. */
const MAX_IN_FLIGHT = 4;

type PendingEvent = [regarding: KubernetesObject, type: EventType, reason: string, action: string, note: string];

/**
 * An events.k8s.io/v1 recorder. It writes one Event per call (transitions are rare; no aggregation), named
 * `<object>.<random>` like client-go's, in the object's namespace (or `default` for cluster-scoped objects).
 */
export class KubeEventRecorder implements EventRecorder {
  readonly #api: EventsV1Api;
  readonly #controller: string;
  readonly #instance: string;
  readonly #log: Logger;
  readonly #clock: Clock;

  /**
   * @param reportingController e.g. `mlops.dev/mlops-operator`.
   * @param reportingInstance e.g. the pod name.
   */
  constructor(
    api: EventsV1Api,
    reportingController: string,
    reportingInstance: string,
    log: Logger,
    clock: Clock = systemClock,
  ) {
    this.#api = api;
    this.#controller = reportingController;
    this.#instance = reportingInstance.slice(0, 128);
    this.#log = log;
    this.#clock = clock;
  }

  #queue: PendingEvent[] = [];
  #inFlight = 0;
  #dropped = 0;

  event(regarding: KubernetesObject, type: EventType, reason: string, action: string, note: string): Promise<void> {
    if (this.#queue.length >= MAX_QUEUED) {
      if (this.#dropped++ % 100 === 0) {
        this.#log.warn({ dropped: this.#dropped, reason }, 'event backlog full; dropping events');
      }
      return Promise.resolve();
    }
    this.#queue.push([regarding, type, reason, action, note]);
    this.#pump();
    return Promise.resolve();
  }

  /** Events queued or being written. */
  get pending(): number {
    return this.#queue.length + this.#inFlight;
  }

  #pump(): void {
    while (this.#inFlight < MAX_IN_FLIGHT) {
      const next = this.#queue.shift();
      if (!next) return;
      this.#inFlight++;
      void this.#write(...next).finally(() => {
        this.#inFlight--;
        this.#pump();
      });
    }
  }

  async #write(
    regarding: KubernetesObject,
    type: EventType,
    reason: string,
    action: string,
    note: string,
  ): Promise<void> {
    const md = regarding.metadata ?? {};
    const namespace = md.namespace ?? 'default';
    try {
      await this.#api.createNamespacedEvent({
        namespace,
        body: {
          apiVersion: 'events.k8s.io/v1',
          kind: 'Event',
          metadata: { name: `${md.name ?? 'object'}.${randomBytes(8).toString('hex')}`, namespace },
          eventTime: new V1MicroTime(this.#clock.now()),
          reportingController: this.#controller,
          reportingInstance: this.#instance,
          type,
          reason,
          action,
          note: note.slice(0, 1024),
          regarding: {
            ...(regarding.apiVersion ? { apiVersion: regarding.apiVersion } : {}),
            ...(regarding.kind ? { kind: regarding.kind } : {}),
            ...(md.name ? { name: md.name } : {}),
            ...(md.namespace ? { namespace: md.namespace } : {}),
            ...(md.uid ? { uid: md.uid } : {}),
            ...(md.resourceVersion ? { resourceVersion: md.resourceVersion } : {}),
          },
        },
      });
    } catch (err) {
      this.#log.warn({ err, reason }, 'could not record event');
    }
  }
}
