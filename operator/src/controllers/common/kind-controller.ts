import type { CustomObjectsApi, KubeConfig, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Condition } from '../../api/conditions.ts';
import type { KindInfo } from '../../api/constants.ts';
import { API_VERSION, GROUP, VERSION } from '../../api/constants.ts';
import type { Clock } from '../../runtime/clock.ts';
import type { ControllerMetrics, Reconcile, ReconcileContext, ReconcileRequest } from '../../runtime/controller.ts';
import { Controller } from '../../runtime/controller.ts';
import type { EventRecorder } from '../../runtime/events.ts';
import type { InformerMetrics } from '../../runtime/informer.ts';
import { Informer, listWatchSource } from '../../runtime/informer.ts';
import { splitKey } from '../../runtime/keys.ts';
import type { Manager } from '../../runtime/manager.ts';
import type { Result } from '../../runtime/result.ts';
import type { WorkQueueMetrics } from '../../runtime/workqueue.ts';
import { WorkQueue } from '../../runtime/workqueue.ts';
import type { ObservedStatus } from './observed-status.ts';
import { planObservedStatus } from './observed-status.ts';

/** A custom resource as the informer caches it: metadata plus untyped spec and status. */
export interface CustomObject extends KubernetesObject {
  spec?: Record<string, unknown>;
  status?: ObservedStatus & Record<string, unknown>;
}

/** What every controller gets from main.ts. */
export interface ControllerDeps {
  kc: KubeConfig;
  customObjects: CustomObjectsApi;
  recorder: EventRecorder;
  log: Logger;
  clock: Clock;
  /** Namespaces to watch; empty means all. */
  namespaces: readonly string[];
  workers: number;
  resyncPeriodMs: number;
  metrics?: { controller: ControllerMetrics; queue(name: string): WorkQueueMetrics; informer: InformerMetrics };
}

/** The field manager named on every write, so `managedFields` shows what the operator owns. */
export const FIELD_MANAGER = 'mlops-operator';

/**
 * One informer per watched namespace (or one cluster-wide) for a kind, with a lookup by key.
 * Reconcilers read the object from here, never from the API server.
 */
export class KindCache {
  readonly #byNamespace = new Map<string, Informer<CustomObject>>();
  readonly #all: Informer<CustomObject> | undefined;

  constructor(kind: KindInfo, deps: ControllerDeps) {
    const make = (namespace: string | undefined): Informer<CustomObject> => {
      const path = namespace
        ? `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${kind.plural}`
        : `/apis/${GROUP}/${VERSION}/${kind.plural}`;
      const list = (): Promise<KubernetesListObject<CustomObject>> =>
        (namespace
          ? deps.customObjects.listNamespacedCustomObject({
              group: GROUP,
              version: VERSION,
              namespace,
              plural: kind.plural,
            })
          : deps.customObjects.listClusterCustomObject({
              group: GROUP,
              version: VERSION,
              plural: kind.plural,
            })) as Promise<KubernetesListObject<CustomObject>>;
      return new Informer<CustomObject>({
        name: namespace ? `${kind.plural}/${namespace}` : kind.plural,
        source: listWatchSource(deps.kc, path, list),
        log: deps.log,
        clock: deps.clock,
        resyncPeriodMs: deps.resyncPeriodMs,
        ...(deps.metrics ? { metrics: deps.metrics.informer } : {}),
      });
    };
    if (deps.namespaces.length === 0) this.#all = make(undefined);
    else for (const ns of deps.namespaces) this.#byNamespace.set(ns, make(ns));
  }

  informers(): Informer<CustomObject>[] {
    return this.#all ? [this.#all] : [...this.#byNamespace.values()];
  }

  get(key: string): CustomObject | undefined {
    const { namespace, name } = splitKey(key);
    const inf = this.#all ?? (namespace === undefined ? undefined : this.#byNamespace.get(namespace));
    return inf?.get(name, namespace);
  }
}

/** The kind-specific part of a controller: given the cached object, decide and write. */
export type KindReconcile<T extends KubernetesObject = CustomObject> = (
  obj: T,
  ctx: ReconcileContext & { kind: KindInfo },
) => Promise<Result | undefined>;

/** An object whose status carries observedGeneration and conditions: any of the three kinds. */
export type WithObservedStatus = KubernetesObject & { status?: ObservedStatus };

/**
 * Builds a controller for one kind: its cache, queue and workers, registered with the manager. A deleted
 * object (gone from the cache) needs nothing yet; later issues add finalizers where cleanup is needed.
 */
export function createKindController<T extends KubernetesObject = CustomObject>(
  kind: KindInfo,
  deps: ControllerDeps,
  manager: Manager,
  reconcileObject: KindReconcile<T>,
): { controller: Controller; cache: KindCache } {
  const name = kind.singular;
  const cache = new KindCache(kind, deps);
  const queue = new WorkQueue({ clock: deps.clock, ...(deps.metrics ? { metrics: deps.metrics.queue(name) } : {}) });
  const reconcile: Reconcile = async (req: ReconcileRequest, ctx) => {
    const obj = cache.get(req.key);
    if (!obj) {
      ctx.log.debug('object is gone; nothing to do');
      return undefined;
    }
    // The API server validated the object against the CRD schema that T is generated from.
    return reconcileObject(obj as unknown as T, { ...ctx, kind });
  };
  const controller = new Controller({
    name,
    kind: kind.kind,
    queue,
    reconcile,
    log: deps.log,
    clock: deps.clock,
    workers: deps.workers,
    generationOf: (key) => cache.get(key)?.metadata?.generation,
    ...(deps.metrics ? { metrics: deps.metrics.controller } : {}),
  });
  for (const inf of cache.informers()) manager.watch(controller, inf);
  return { controller, cache };
}

/**
 * Writes `status` (a partial status) through the status subresource as a JSON merge patch. Lists such as
 * `conditions` are replaced whole, so pass the complete list.
 */
export async function patchStatus(
  api: CustomObjectsApi,
  kind: KindInfo,
  obj: KubernetesObject,
  patch: { status: Record<string, unknown> },
): Promise<CustomObject> {
  const namespace = obj.metadata?.namespace;
  const name = obj.metadata?.name;
  if (!namespace || !name) throw new Error(`cannot patch the status of ${kind.kind} without namespace and name`);
  return (await api.patchNamespacedCustomObjectStatus(
    { group: GROUP, version: VERSION, plural: kind.plural, namespace, name, body: patch, fieldManager: FIELD_MANAGER },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  )) as CustomObject;
}

/** `apiVersion` and `kind` for an object from a list (list items may omit them). */
export function withTypeMeta<T extends KubernetesObject>(kind: KindInfo, obj: T): T {
  return obj.apiVersion && obj.kind ? obj : { ...obj, apiVersion: API_VERSION, kind: kind.kind };
}

export type { Condition };

/** The Ready condition a kind's pure status function computes (type and observedGeneration are added). */
export type ReadyInput = { status: Condition['status']; reason: string; message: string };

/**
 * The shared last step of a reconcile: record the observed generation and the Ready condition, writing only
 * when that changes the status, and record an Event when Ready changes.
 */
export async function applyObservedStatus(
  deps: Pick<ControllerDeps, 'customObjects' | 'recorder'>,
  kind: KindInfo,
  obj: WithObservedStatus,
  ready: ReadyInput,
  ctx: ReconcileContext,
): Promise<void> {
  const generation = obj.metadata?.generation ?? 0;
  const plan = planObservedStatus(obj.status, generation, ready, new Date(ctx.clock.now()));
  if (plan.patch) {
    await patchStatus(deps.customObjects, kind, obj, plan.patch);
    ctx.log.info({ observedGeneration: generation, ready: ready.status, reason: ready.reason }, 'status updated');
  }
  if (plan.transition) {
    const t = plan.transition;
    void deps.recorder.event(
      withTypeMeta(kind, obj),
      t.status === 'False' ? 'Warning' : 'Normal',
      t.reason,
      'Reconcile',
      t.message,
    );
  }
}
