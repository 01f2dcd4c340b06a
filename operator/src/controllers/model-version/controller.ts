import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiException, PatchStrategy, setHeaderOptions, type CustomObjectsApi } from '@kubernetes/client-node';
import { GROUP, MODEL_VERSION, VERSION } from '../../api/constants.ts';
import type { ModelVersion } from '../../api/generated.ts';
import type { Controller } from '../../runtime/controller.ts';
import { keyOf } from '../../runtime/keys.ts';
import type { Manager } from '../../runtime/manager.ts';
import { StorageError, type StoreOptions } from '../../storage/index.ts';
import type { ControllerDeps, KindCache } from '../common/kind-controller.ts';
import { createKindController, FIELD_MANAGER, withTypeMeta, type CustomObject } from '../common/kind-controller.ts';
import { evaluateModelVersion, type GateLimits } from './evaluate.ts';
import { EvaluationQueue, type RetryInfo } from './evaluation-queue.ts';
import { isFinal, planFinalStatus, planModelVersion, retryDelayMs } from './plan.ts';

/** How the gate reaches storage and how much it may use. */
export interface GateOptions {
  storage: StoreOptions;
  /** Scratch directory for downloaded models and eval sets. */
  workDir: string;
  limits: GateLimits;
  /** Rows per inference batch. */
  batchSize: number;
  /** onnxruntime intra-op threads per model in an evaluation (keep small: the operator shares its CPU). */
  intraOpThreads: number;
  /** Evaluations of different models at once. */
  maxConcurrent: number;
  /** An evaluation that crashes (not a storage or API failure) this many times fails the gate. */
  maxCrashes: number;
}

export function defaultGateOptions(): GateOptions {
  return {
    storage: {},
    workDir: join(tmpdir(), 'mlops-gate'),
    limits: { maxModelBytes: 2 * 1024 ** 3, maxDatasetBytes: 10 * 1024 ** 3 },
    batchSize: 4096,
    intraOpThreads: 1,
    maxConcurrent: 1,
    maxCrashes: 5,
  };
}

/** Failures of an evaluation that a later attempt may not have: storage unavailable, API server errors, crashes. */
function classify(err: unknown): RetryInfo {
  if (err instanceof StorageError) return { reason: 'StorageUnavailable', message: err.message };
  if (err instanceof ApiException) return { reason: 'APIServerError', message: `API server: HTTP ${err.code}` };
  return { reason: 'EvaluationError', message: err instanceof Error ? err.message : String(err) };
}

/**
 * The ModelVersion controller: runs the evaluation gate. Reconciles plan the phase (plan.ts) from the status and
 * the in-process evaluation queue; evaluations run one at a time per model, off the reconcile path, and write
 * the verdict themselves before the next candidate of the model starts.
 */
export function createModelVersionController(
  deps: ControllerDeps,
  manager: Manager,
  gate: GateOptions = defaultGateOptions(),
): { controller: Controller; cache: KindCache; stopEvaluations: () => Promise<void> } {
  let enqueue: (key: string) => void = () => undefined;
  let cacheRef: () => ReturnType<KindCache['informers']> = () => [];
  const evaluations = new EvaluationQueue({
    onChange: (key) => enqueue(key),
    classify,
    retryDelayMs,
    clock: deps.clock,
    maxConcurrent: gate.maxConcurrent,
    // Versions of a model created together are evaluated oldest first: wait for an older version that is not
    // final and not yet queued (its reconcile is about to submit it).
    isBlocked: (task, known) => {
      const [namespace, model] = task.model.split('/') as [string, string];
      return cacheRef().some((inf) =>
        inf.list(namespace).some((o) => {
          const other = o as unknown as ModelVersion;
          return (
            other.spec?.model === model &&
            other.spec.version < task.version &&
            !isFinal(other.status, other.metadata.generation ?? 0) &&
            !known(keyOf(o))
          );
        }),
      );
    },
  });
  const log = deps.log.child({ controller: MODEL_VERSION.singular, component: 'gate' });

  const { controller, cache } = createKindController(MODEL_VERSION, deps, manager, async (obj, ctx) => {
    const mv = obj as unknown as ModelVersion;
    const key = keyOf(obj);
    const uid = mv.metadata.uid ?? '';
    const generation = mv.metadata.generation ?? 0;
    const plan = planModelVersion({
      generation,
      status: mv.status,
      run: evaluations.state(key, uid, generation),
      model: mv.spec.model,
      nowMs: ctx.clock.now(),
    });
    if (plan.patch) {
      // Conditional on the cached resourceVersion: an evaluation may have written the verdict meanwhile, and a
      // status planned from the older object must not overwrite it (409, and the retry sees the verdict).
      try {
        await patchStatusWith(deps.customObjects, obj, { resourceVersion: obj.metadata!.resourceVersion! }, plan.patch);
      } catch (err) {
        if (!(err instanceof ApiException && err.code === 409)) throw err;
        ctx.log.debug('status changed meanwhile; looking again');
        return { requeueAfterMs: 100 };
      }
      ctx.log.info({ phase: plan.patch.phase, message: plan.patch.message }, 'status updated');
    }
    for (const e of plan.events) {
      await deps.recorder.event(withTypeMeta(MODEL_VERSION, obj), e.type, e.reason, 'Evaluate', e.note);
    }
    // The verdict is in the cache now: the in-memory entry has done its job. Drop entries of deleted objects too.
    if (isFinal(mv.status, generation)) evaluations.forget(key);
    evaluations.prune((k, u) => cache.get(k)?.metadata?.uid === u);
    evaluations.poke();
    if (plan.submit) {
      evaluations.submit({
        key,
        uid,
        generation,
        model: `${mv.metadata.namespace}/${mv.spec.model}`,
        version: mv.spec.version,
        run: async (started, signal, attempt) => {
          const jobLog = log.child({ key, generation, attempt });
          let outcome;
          try {
            outcome = await evaluateModelVersion(
              mv,
              {
                customObjects: deps.customObjects,
                storage: gate.storage,
                workDir: gate.workDir,
                limits: gate.limits,
                batchSize: gate.batchSize,
                intraOpThreads: gate.intraOpThreads,
                clock: deps.clock,
                log: jobLog,
              },
              { signal, onBaseline: started },
            );
          } catch (err) {
            const transient = err instanceof StorageError || err instanceof ApiException || signal.aborted;
            if (transient || attempt < gate.maxCrashes) {
              jobLog.warn({ err }, 'evaluation failed; will retry');
              throw err;
            }
            jobLog.error({ err }, 'evaluation keeps failing; failing the gate');
            outcome = {
              kind: 'failed' as const,
              reason: 'EvaluationError',
              message: `the evaluation failed ${attempt} times: ${err instanceof Error ? err.message : String(err)}`,
              evaluatedAtMs: deps.clock.now(),
            };
          }
          const final = planFinalStatus(mv.status, generation, outcome);
          // Precondition on the uid: a ModelVersion deleted and created again under the same name meanwhile must
          // not get this verdict (409; the job is dropped and the new object is evaluated on its own).
          await patchStatusWith(deps.customObjects, obj, { uid }, final.patch);
          jobLog.info({ phase: final.patch.phase, summary: final.patch.gate?.summary }, 'gate verdict written');
          await deps.recorder.event(
            withTypeMeta(MODEL_VERSION, obj),
            final.event.type,
            final.event.reason,
            'Evaluate',
            final.event.note,
          );
        },
      });
    }
    return plan.requeueAfterMs !== undefined ? { requeueAfterMs: plan.requeueAfterMs } : undefined;
  });
  enqueue = (key) => controller.enqueue(key);
  cacheRef = () => cache.informers();
  return { controller, cache, stopEvaluations: () => evaluations.stop() };
}

/**
 * A merge patch of the status with preconditions in its metadata: the API server answers 409 Conflict when the
 * object's resourceVersion (it changed since `obj` was read) or uid (it is another object of the same name) differs.
 */
async function patchStatusWith(
  api: CustomObjectsApi,
  obj: CustomObject,
  preconditions: { resourceVersion?: string; uid?: string },
  status: Record<string, unknown>,
): Promise<void> {
  await api.patchNamespacedCustomObjectStatus(
    {
      group: GROUP,
      version: VERSION,
      plural: MODEL_VERSION.plural,
      namespace: obj.metadata!.namespace!,
      name: obj.metadata!.name!,
      body: { metadata: preconditions, status },
      fieldManager: FIELD_MANAGER,
    },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}
