/**
 * One evaluation of a ModelVersion: pick the baseline, download and verify the artifacts and the eval set, score
 * them in a worker thread and compute the verdict (docs/adr/0032). Returns the outcome; throws only for failures
 * worth retrying (storage unavailable, API server errors, a crashed worker).
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiException, type CustomObjectsApi } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { GROUP, INFERENCE_SERVICE, MODEL_VERSION, VERSION } from '../../api/constants.ts';
import type { InferenceService, ModelVersion, ModelVersionList } from '../../api/generated.ts';
import { EvaluationError } from '../../gate/errors.ts';
import { runEvaluation, type EvaluationResult } from '../../gate/evaluator.ts';
import { computeVerdict, metricsToCompute } from '../../gate/verdict.ts';
import type { Clock } from '../../runtime/clock.ts';
import { downloadVerified, StorageError, storeFor, type StoreOptions } from '../../storage/index.ts';
import type { GateOutcome } from './plan.ts';

export interface GateLimits {
  /** Largest model file the gate downloads, in bytes. */
  maxModelBytes: number;
  /** Largest eval file the gate downloads, in bytes. */
  maxDatasetBytes: number;
}

export interface EvaluateDeps {
  customObjects: CustomObjectsApi;
  storage: StoreOptions;
  /** Scratch space for downloads; each evaluation uses (and removes) its own subdirectory. */
  workDir: string;
  limits: GateLimits;
  batchSize: number;
  intraOpThreads: number;
  clock: Clock;
  log: Logger;
}

/** The baseline chosen for a candidate, or why there is none. */
export type BaselineChoice = { modelVersion: ModelVersion } | { missing: string };

/**
 * The version the candidate must not be worse than: of the InferenceService's stable and canary versions and the
 * Passed versions of the model newer than the stable one (approved, about to be rolled out), the newest. So a
 * second candidate evaluated right after a first that passed is compared with the first, not with the old
 * champion. Read from the API server, not a cache: the previous evaluation of this model has just written.
 */
export async function chooseBaseline(mv: ModelVersion, api: CustomObjectsApi): Promise<BaselineChoice> {
  const namespace = mv.metadata.namespace!;
  const isvcName = mv.spec.evaluation.baseline!.inferenceService;
  let isvc: InferenceService | undefined;
  try {
    isvc = (await api.getNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural: INFERENCE_SERVICE.plural,
      name: isvcName,
    })) as InferenceService;
  } catch (err) {
    if (!(err instanceof ApiException && err.code === 404)) throw err;
  }
  const list = (await api.listNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: MODEL_VERSION.plural,
  })) as ModelVersionList;
  const byName = new Map(list.items.filter((v) => v.spec.model === mv.spec.model).map((v) => [v.metadata.name!, v]));
  const serving = [isvc?.status?.stable?.modelVersion, isvc?.status?.canary?.modelVersion]
    .map((n) => (n ? byName.get(n) : undefined))
    .filter((v): v is ModelVersion => v !== undefined);
  const stableVersion = isvc?.status?.stable?.modelVersion
    ? byName.get(isvc.status.stable.modelVersion)?.spec.version
    : undefined;
  const approved = [...byName.values()].filter(
    (v) => v.status?.phase === 'Passed' && (stableVersion === undefined || v.spec.version > stableVersion),
  );
  const candidates = [...serving, ...approved].filter((v) => v.metadata.name !== mv.metadata.name);
  const best = candidates.reduce<ModelVersion | undefined>(
    (b, v) => (!b || v.spec.version > b.spec.version ? v : b),
    undefined,
  );
  if (best) return { modelVersion: best };
  if (!isvc) return { missing: `InferenceService ${isvcName} does not exist` };
  const stable = isvc.status?.stable?.modelVersion;
  if (stable && !byName.has(stable))
    return { missing: `InferenceService ${isvcName} serves ${stable}, which does not exist` };
  return { missing: `InferenceService ${isvcName} serves no version yet` };
}

const STORAGE_REASONS: Partial<Record<StorageError['code'], string>> = {
  NotFound: 'NotFound',
  PermissionDenied: 'PermissionDenied',
  InvalidUri: 'InvalidUri',
  TooLarge: 'TooLarge',
  ChecksumMismatch: 'ChecksumMismatch',
};

/** A permanent storage failure as a gate reason, e.g. ArtifactChecksumMismatch, DatasetNotFound. */
function storageFailure(
  what: 'Artifact' | 'Dataset' | 'BaselineArtifact',
  err: StorageError,
): { reason: string; message: string } {
  const reason = `${what}${STORAGE_REASONS[err.code] ?? 'Unreadable'}`;
  const label =
    what === 'Artifact' ? 'model artifact' : what === 'Dataset' ? 'evaluation dataset' : 'baseline artifact';
  return { reason, message: `${label}: ${err.message}` };
}

/**
 * Evaluates `mv` (and its baseline) and returns the outcome. `onBaseline` reports the chosen baseline before
 * scoring starts. Throws StorageError (transient), ApiException or an unexpected Error for a retry.
 */
export async function evaluateModelVersion(
  mv: ModelVersion,
  deps: EvaluateDeps,
  options: { signal?: AbortSignal; onBaseline?: (name: string | undefined) => void } = {},
): Promise<GateOutcome> {
  const evaluation = mv.spec.evaluation;
  const failed = (reason: string, message: string, datasetDigest?: string): GateOutcome => ({
    kind: 'failed',
    reason,
    message,
    evaluatedAtMs: deps.clock.now(),
    ...(datasetDigest ? { datasetDigest } : {}),
  });
  const { metrics, unknown } = metricsToCompute(evaluation);
  if (unknown.length) {
    return failed(
      'InvalidEvaluationSpec',
      `unknown metric${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; known: accuracy, auc, logloss, precision, recall, f1, mse, rmse, mae, r2`,
    );
  }
  if ((mv.spec.artifact.format ?? 'onnx') !== 'onnx')
    return failed('UnsupportedFormat', `artifact format ${mv.spec.artifact.format} is not supported; only onnx`);

  const baselineChoice = evaluation.baseline ? await chooseBaseline(mv, deps.customObjects) : undefined;
  let baseline = baselineChoice && 'modelVersion' in baselineChoice ? baselineChoice.modelVersion : undefined;
  let baselineMissing = baselineChoice && 'missing' in baselineChoice ? baselineChoice.missing : undefined;
  options.onBaseline?.(baseline?.metadata.name);

  await mkdir(deps.workDir, { recursive: true });
  const dir = await mkdtemp(join(deps.workDir, `${mv.metadata.name}-`));
  try {
    const fetchOne = async (uri: string, dest: string, opts: { expectedSha256?: string; maxBytes: number }) =>
      downloadVerified(storeFor(uri, deps.storage), uri, join(dir, dest), {
        ...opts,
        ...(options.signal ? { signal: options.signal } : {}),
      });
    try {
      await fetchOne(mv.spec.artifact.uri, 'candidate.onnx', {
        expectedSha256: mv.spec.artifact.sha256,
        maxBytes: deps.limits.maxModelBytes,
      });
    } catch (err) {
      if (err instanceof StorageError && !err.transient) {
        const f = storageFailure('Artifact', err);
        return failed(f.reason, f.message);
      }
      throw err;
    }
    let datasetDigest: string;
    const datasetPath = join(dir, `eval.${evaluation.dataset.format ?? 'csv'}`);
    try {
      const d = await fetchOne(evaluation.dataset.uri, `eval.${evaluation.dataset.format ?? 'csv'}`, {
        maxBytes: deps.limits.maxDatasetBytes,
      });
      datasetDigest = `sha256:${d.sha256}`;
    } catch (err) {
      if (err instanceof StorageError && !err.transient) {
        const f = storageFailure('Dataset', err);
        return failed(f.reason, f.message);
      }
      throw err;
    }
    if (baseline) {
      try {
        await fetchOne(baseline.spec.artifact.uri, 'baseline.onnx', {
          expectedSha256: baseline.spec.artifact.sha256,
          maxBytes: deps.limits.maxModelBytes,
        });
      } catch (err) {
        if (!(err instanceof StorageError) || err.transient) throw err;
        // A baseline that cannot be read is no baseline; onMissing decides, and the reason is recorded.
        baselineMissing = `baseline ${baseline.metadata.name} is unusable: ${storageFailure('BaselineArtifact', err).message}`;
        baseline = undefined;
      }
    }

    const dataset = {
      path: datasetPath,
      format: evaluation.dataset.format ?? 'csv',
      label: evaluation.dataset.label,
      ...(evaluation.dataset.features ? { features: evaluation.dataset.features } : {}),
      ...(evaluation.dataset.output ? { output: evaluation.dataset.output } : {}),
    };
    const run = (withBaseline: boolean): Promise<EvaluationResult> =>
      runEvaluation(
        {
          models: [
            { role: 'candidate', path: join(dir, 'candidate.onnx') },
            ...(withBaseline ? [{ role: 'baseline' as const, path: join(dir, 'baseline.onnx') }] : []),
          ],
          dataset,
          metrics,
          batchSize: deps.batchSize,
          intraOpThreads: deps.intraOpThreads,
        },
        options.signal ? { signal: options.signal } : {},
      );
    let result: EvaluationResult;
    try {
      result = await run(baseline !== undefined);
    } catch (err) {
      if (!(err instanceof EvaluationError)) throw err;
      if (err.role !== 'baseline' || !baseline) return failed(err.reason, err.message, datasetDigest);
      // The eval set cannot feed the baseline (e.g. the new model uses other columns): score the candidate alone.
      baselineMissing = `baseline ${baseline.metadata.name} could not be scored on this eval set: ${err.message}`;
      baseline = undefined;
      try {
        result = await run(false);
      } catch (err2) {
        if (err2 instanceof EvaluationError) return failed(err2.reason, err2.message, datasetDigest);
        throw err2;
      }
    }
    const verdict = computeVerdict({
      evaluation,
      examples: result.examples,
      candidate: result.candidate,
      ...(baseline && result.baseline
        ? { baseline: { name: baseline.metadata.name!, version: baseline.spec.version, scores: result.baseline } }
        : {}),
      ...(baselineMissing ? { baselineMissing } : {}),
    });
    deps.log.info(
      {
        passed: verdict.passed,
        summary: verdict.summary,
        examples: result.examples,
        baseline: baseline?.metadata.name,
      },
      'evaluation finished',
    );
    return {
      kind: 'verdict',
      verdict,
      examples: result.examples,
      datasetDigest,
      ...(baseline ? { baseline: baseline.metadata.name! } : {}),
      evaluatedAtMs: deps.clock.now(),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
