/**
 * The evaluation gate end to end: the ModelVersion controller (in this process) against the real API server and
 * fake-gcs-server, with real ONNX models trained by scikit-learn and converted with skl2onnx in the test.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { Storage } from '@google-cloud/storage';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { GateCheck, ModelVersion } from '../operator/src/api/generated.ts';
import type { ControllerDeps } from '../operator/src/controllers/common/kind-controller.ts';
import {
  createModelVersionController,
  defaultGateOptions,
} from '../operator/src/controllers/model-version/controller.ts';
import { createLogger } from '../operator/src/observability/logger.ts';
import { systemClock } from '../operator/src/runtime/clock.ts';
import { KubeEventRecorder } from '../operator/src/runtime/events.ts';
import { Manager } from '../operator/src/runtime/manager.ts';
import { kubeConfig, kubectl, uniqueName, waitFor } from './support/cluster.ts';
import { FEATURES, makeGateFixtures, type GateFixtures } from './support/gate-fixtures.ts';
import { installManifests, operatorKubeconfig } from './support/operator.ts';
import { freePort } from './support/net.ts';

const GROUP = 'mlops.dev';
const VERSION = 'v1alpha1';
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

const kc = kubeConfig();
const api = kc.makeApiClient(k8s.CustomObjectsApi);
const gcsEndpoint = inject('cluster').gcsEndpoint;
const bucket = uniqueName('gate-ctl');
let fx: GateFixtures;
const shas = new Map<string, string>();

/** The operator's own least-privilege identity (manifests/base RBAC), set in beforeAll; the test itself is admin. */
let operatorKc: k8s.KubeConfig;

/** Starts a ModelVersion controller for one namespace; returns its stop function. */
function startController(namespace: string, endpoint: string, maxModelBytes = 64 * 1024): () => Promise<void> {
  const log = createLogger({ level: 'error' });
  const deps: ControllerDeps = {
    kc: operatorKc,
    customObjects: operatorKc.makeApiClient(k8s.CustomObjectsApi),
    recorder: new KubeEventRecorder(
      operatorKc.makeApiClient(k8s.EventsV1Api),
      'mlops.dev/mlops-operator',
      'gate-test',
      log,
    ),
    log,
    clock: systemClock,
    namespaces: [namespace],
    workers: 2,
    resyncPeriodMs: 3_600_000,
  };
  const manager = new Manager({ log, gracefulShutdownTimeoutMs: 5000, onLeadershipLost: () => undefined });
  const { stopEvaluations } = createModelVersionController(deps, manager, {
    ...defaultGateOptions(),
    storage: { gcs: { apiEndpoint: endpoint, projectId: 'test', maxRetries: 0 } },
    workDir: join(tmpdir(), `mlops-gate-test-${namespace}`),
    limits: { maxModelBytes, maxDatasetBytes: 64 * 1024 * 1024 },
    batchSize: 256,
  });
  manager.start();
  return async () => {
    await stopEvaluations();
    await manager.stop();
  };
}

interface MvOptions {
  model: string;
  version: number;
  artifact: string; // object name in the bucket
  sha256?: string;
  dataset?: string;
  label?: string;
  features?: string[] | null;
  metrics?: Array<{ name: string; min?: number; max?: number }>;
  baseline?: { inferenceService: string; maxRegression?: Record<string, number>; onMissing?: 'Pass' | 'Fail' };
  minExamples?: number;
}

function modelVersion(namespace: string, o: MvOptions): ModelVersion {
  const features = o.features === null ? undefined : (o.features ?? FEATURES);
  return {
    apiVersion: 'mlops.dev/v1alpha1',
    kind: 'ModelVersion',
    metadata: { name: `${o.model}-v${o.version}`, namespace, labels: { 'mlops.dev/model': o.model } },
    spec: {
      model: o.model,
      version: o.version,
      artifact: {
        uri: `gs://${bucket}/${o.artifact}`,
        format: 'onnx',
        sha256: o.sha256 ?? shas.get(o.artifact) ?? 'f'.repeat(64),
      },
      evaluation: {
        dataset: {
          uri: `gs://${bucket}/${o.dataset ?? 'eval.csv'}`,
          format: 'csv',
          label: o.label ?? 'y',
          ...(features ? { features } : {}),
        },
        metrics: o.metrics ?? [{ name: 'auc', min: 0.75 }, { name: 'logloss', max: 0.6 }, { name: 'accuracy' }],
        ...(o.baseline ? { baseline: o.baseline } : {}),
        ...(o.minExamples !== undefined ? { minExamples: o.minExamples } : {}),
      },
    },
  };
}

async function create(namespace: string, o: MvOptions): Promise<void> {
  await api.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: 'modelversions',
    body: modelVersion(namespace, o),
  });
}

async function get(namespace: string, name: string): Promise<ModelVersion> {
  return (await api.getNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: 'modelversions',
    name,
  })) as ModelVersion;
}

async function settled(namespace: string, name: string, timeoutMs = 60_000): Promise<ModelVersion> {
  return waitFor(
    `${name} to be Passed or Failed`,
    async () => {
      const mv = await get(namespace, name);
      return mv.status?.phase === 'Passed' || mv.status?.phase === 'Failed' ? mv : undefined;
    },
    { timeoutMs, intervalMs: 200 },
  );
}

async function createInferenceService(namespace: string, name: string, stable?: string): Promise<void> {
  await api.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: 'inferenceservices',
    body: {
      apiVersion: 'mlops.dev/v1alpha1',
      kind: 'InferenceService',
      metadata: { name, namespace },
      spec: { model: name },
    },
  });
  if (stable) {
    // What the InferenceService controller records once a version serves; set directly here.
    const r = await kubectl([
      'patch',
      'inferenceservice',
      name,
      '-n',
      namespace,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status: { stable: { modelVersion: stable } } }),
    ]);
    expect(r.code, r.stderr).toBe(0);
  }
}

async function eventReasons(namespace: string, name: string): Promise<string[]> {
  const r = await kubectl(['get', 'events.events.k8s.io', '-n', namespace, '-o', 'json']);
  const items = (
    JSON.parse(r.stdout) as {
      items: Array<{ reason: string; regarding: { name: string }; reportingController: string }>;
    }
  ).items;
  return items
    .filter((e) => e.regarding.name === name && e.reportingController === 'mlops.dev/mlops-operator')
    .map((e) => e.reason);
}

const failedChecks = (mv: ModelVersion): Array<[string, string]> =>
  (mv.status?.gate?.checks ?? []).filter((c: GateCheck) => !c.passed).map((c) => [c.metric, c.type]);

beforeAll(async () => {
  await installManifests();
  operatorKc = new k8s.KubeConfig();
  operatorKc.loadFromFile(await operatorKubeconfig());
  fx = await makeGateFixtures();
  const storage = new Storage({ apiEndpoint: gcsEndpoint, projectId: 'test' });
  await storage.createBucket(bucket);
  const b = storage.bucket(bucket);
  const put = async (name: string, data: Buffer): Promise<void> => {
    await b.file(name).save(data, { resumable: false });
    shas.set(name, sha(data));
  };
  for (const m of ['good', 'worse', 'weak', 'three-features', 'mixed'])
    await put(`${m}.onnx`, await readFile(fx.model(m)));
  const csv = await readFile(fx.data('csv'));
  await put('eval.csv', csv);
  await put('corrupt.onnx', Buffer.from('not an onnx model'));
  await put('big.onnx', randomBytes(100 * 1024));
  await put('empty.csv', Buffer.from('f0,f1,f2,f3,color,y,target\n'));
  const lines = csv.toString().split('\n');
  lines[10] = lines[10]!.replace(/^[^,]*,/, ',');
  await put('nan.csv', Buffer.from(lines.join('\n')));
  await put('no-color.csv', Buffer.from(csv.toString().replace('color', 'colour')));
}, 300_000);

afterAll(async () => {
  if (fx) await rm(fx.dir, { recursive: true, force: true });
});

describe('ModelVersion evaluation gate (controller, API server, fake-gcs-server)', () => {
  const ns = uniqueName('gate');
  let stop: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    expect((await kubectl(['create', 'namespace', ns])).code).toBe(0);
    stop = startController(ns, gcsEndpoint);
  });
  afterAll(async () => {
    await stop?.();
    await kubectl(['delete', 'namespace', ns, '--wait=false']);
  });

  it('a good model passes: verdict, checks, dataset digest, summary, Ready and Events', async () => {
    await create(ns, { model: 'good', version: 1, artifact: 'good.onnx' });
    const mv = await settled(ns, 'good-v1');
    expect(mv.status?.phase, mv.status?.message).toBe('Passed');
    const gate = mv.status!.gate!;
    expect(gate.summary).toBe(`auc ${Number(fx.expected.good!.roc_auc!.toPrecision(3))}`);
    expect(gate.examples).toBe(1200);
    expect(gate.datasetDigest).toBe(`sha256:${shas.get('eval.csv')}`);
    expect(gate.metrics?.auc).toBeCloseTo(fx.expected.good!.roc_auc!, 9);
    expect(gate.metrics?.logloss).toBeCloseTo(fx.expected.good!.log_loss!, 9);
    expect(gate.metrics?.accuracy).toBeCloseTo(fx.expected.good!.accuracy!, 9);
    expect(gate.checks?.map((c) => [c.metric, c.type, c.passed])).toEqual([
      ['examples', 'Min', true],
      ['auc', 'Min', true],
      ['logloss', 'Max', true],
    ]);
    expect(mv.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'True',
      reason: 'GatePassed',
    });
    const reasons = await waitFor('the GatePassed event', async () => {
      const r = await eventReasons(ns, 'good-v1');
      return r.includes('GatePassed') ? r : undefined;
    });
    expect(reasons).toEqual(expect.arrayContaining(['EvaluationQueued', 'EvaluationStarted', 'GatePassed']));
    // kubectl get mv shows the verdict.
    const table = await kubectl(['get', 'mv', 'good-v1', '-n', ns]);
    expect(table.stdout).toMatch(/good-v1\s+good\s+1\s+Passed\s+auc 0\.85/);
  });

  it('a model under a threshold fails with the check named', async () => {
    await create(ns, { model: 'weak', version: 1, artifact: 'weak.onnx' });
    const mv = await settled(ns, 'weak-v1');
    expect(mv.status?.phase).toBe('Failed');
    expect(failedChecks(mv)).toEqual([
      ['auc', 'Min'],
      ['logloss', 'Max'],
    ]);
    expect(mv.status?.gate?.summary).toBe(`FAILED auc ${Number(fx.expected.weak!.roc_auc!.toPrecision(3))} < 0.75`);
    expect(mv.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'GateFailed',
    });
    await waitFor('the GateFailed event', async () =>
      (await eventReasons(ns, 'weak-v1')).includes('GateFailed') ? true : undefined,
    );
  });

  it('a model worse than the serving baseline by more than maxRegression fails although it meets the thresholds', async () => {
    await create(ns, { model: 'svc', version: 1, artifact: 'good.onnx', baseline: { inferenceService: 'svc' } });
    expect((await settled(ns, 'svc-v1')).status?.phase).toBe('Passed');
    await createInferenceService(ns, 'svc', 'svc-v1');
    await create(ns, {
      model: 'svc',
      version: 2,
      artifact: 'worse.onnx',
      baseline: { inferenceService: 'svc', maxRegression: { auc: 0.01 } },
    });
    const mv = await settled(ns, 'svc-v2');
    expect(mv.status?.phase).toBe('Failed');
    expect(failedChecks(mv)).toEqual([['auc', 'MaxRegression']]);
    const check = mv.status!.gate!.checks!.find((c) => c.type === 'MaxRegression')!;
    expect(check.value).toBeCloseTo(fx.expected.worse!.roc_auc!, 9);
    expect(check.baseline).toBeCloseTo(fx.expected.good!.roc_auc!, 9);
    expect(check.delta).toBeCloseTo(fx.expected.worse!.roc_auc! - fx.expected.good!.roc_auc!, 9);
    expect(mv.status?.gate?.baseline?.modelVersion).toBe('svc-v1');
    expect(mv.status?.gate?.summary).toMatch(/^FAILED auc 0\.811 \(-0\.0386 vs v1, max regression 0\.01\)$/);
    // The same model within the allowed regression passes.
    await create(ns, {
      model: 'svc',
      version: 3,
      artifact: 'worse.onnx',
      baseline: { inferenceService: 'svc', maxRegression: { auc: 0.05 } },
    });
    const ok = await settled(ns, 'svc-v3');
    expect(ok.status?.phase).toBe('Passed');
    expect(ok.status?.gate?.summary).toBe('auc 0.811 (-0.0386 vs v1)');
  });

  it('the first model passes under onMissing: Pass and fails under onMissing: Fail', async () => {
    await create(ns, {
      model: 'first',
      version: 1,
      artifact: 'good.onnx',
      baseline: { inferenceService: 'first', maxRegression: { auc: 0 } },
    });
    const pass = await settled(ns, 'first-v1');
    expect(pass.status?.phase).toBe('Passed');
    expect(pass.status?.gate?.summary).toMatch(/^auc 0\.85 \(no baseline\)$/);
    expect(pass.status?.gate?.checks?.find((c) => c.type === 'MaxRegression')?.reason).toBe(
      'skipped: InferenceService first does not exist (onMissing: Pass)',
    );
    await create(ns, {
      model: 'strict',
      version: 1,
      artifact: 'good.onnx',
      baseline: { inferenceService: 'strict', maxRegression: { auc: 0 }, onMissing: 'Fail' },
    });
    const fail = await settled(ns, 'strict-v1');
    expect(fail.status?.phase).toBe('Failed');
    expect(failedChecks(fail)).toEqual([['auc', 'MaxRegression']]);
  });

  it('two candidates created together are evaluated one after the other, the second against the first', async () => {
    // The old champion (weak, auc 0.65) serves; v2 (auc 0.85) and v3 (auc 0.81) both beat it. v3 must be compared
    // with v2, which passed just before it and is the version about to serve, so it fails.
    const gate = { inferenceService: 'pair', maxRegression: { auc: 0.01 } };
    const metrics = [{ name: 'auc', min: 0.6 }];
    await create(ns, { model: 'pair', version: 1, artifact: 'weak.onnx', metrics, baseline: gate });
    expect((await settled(ns, 'pair-v1')).status?.phase).toBe('Passed');
    await createInferenceService(ns, 'pair', 'pair-v1');
    await Promise.all([
      create(ns, { model: 'pair', version: 3, artifact: 'worse.onnx', metrics, baseline: gate }),
      create(ns, { model: 'pair', version: 2, artifact: 'good.onnx', metrics, baseline: gate }),
    ]);
    const [v2, v3] = await Promise.all([settled(ns, 'pair-v2'), settled(ns, 'pair-v3')]);
    expect(v2.status?.phase).toBe('Passed');
    expect(v2.status?.gate?.baseline?.modelVersion).toBe('pair-v1');
    expect(v3.status?.phase).toBe('Failed');
    expect(v3.status?.gate?.baseline?.modelVersion).toBe('pair-v2');
    expect(failedChecks(v3)).toEqual([['auc', 'MaxRegression']]);
    // One after the other: v3 was evaluated after v2's verdict was written.
    expect(Date.parse(v3.status!.gate!.evaluatedAt!)).toBeGreaterThanOrEqual(Date.parse(v2.status!.gate!.evaluatedAt!));
  });

  it('a baseline that cannot be scored on the eval set counts as no baseline, with the reason recorded', async () => {
    // The serving version wants 3 features; the candidate's eval set gives 4: only the candidate can be scored.
    await create(ns, {
      model: 'shift',
      version: 1,
      artifact: 'three-features.onnx',
      features: ['f0', 'f1', 'f2'],
      metrics: [{ name: 'auc', min: 0.5 }],
    });
    expect((await settled(ns, 'shift-v1')).status?.phase).toBe('Passed');
    await createInferenceService(ns, 'shift', 'shift-v1');
    await create(ns, {
      model: 'shift',
      version: 2,
      artifact: 'good.onnx',
      baseline: { inferenceService: 'shift', maxRegression: { auc: 0 } },
    });
    const mv = await settled(ns, 'shift-v2');
    expect(mv.status?.phase).toBe('Passed');
    expect(mv.status?.gate?.baseline).toBeUndefined();
    expect(mv.status?.gate?.checks?.find((c) => c.type === 'MaxRegression')?.reason).toMatch(
      /^skipped: baseline shift-v1 could not be scored on this eval set: .*expects 3 features per row, the dataset gives 4/,
    );
  });

  describe('every permanent error fails the gate with its reason', () => {
    const cases: Array<[string, Partial<MvOptions>, string, RegExp]> = [
      ['a corrupt ONNX file', { artifact: 'corrupt.onnx' }, 'InvalidModel', /not a loadable ONNX model/],
      [
        'an input shape mismatch',
        { artifact: 'three-features.onnx' },
        'InputMismatch',
        /expects 3 features per row, the dataset gives 4/,
      ],
      [
        'an input name mismatch',
        { artifact: 'mixed.onnx', features: null, dataset: 'no-color.csv', metrics: [{ name: 'accuracy', min: 0.5 }] },
        'InputMismatch',
        /model input "color" has no column/,
      ],
      [
        'a missing label column',
        { artifact: 'good.onnx', label: 'clicked' },
        'MissingColumn',
        /label column "clicked"/,
      ],
      ['NaN predictions', { artifact: 'good.onnx', dataset: 'nan.csv' }, 'InvalidPrediction', /is NaN for row 10/],
      ['empty data', { artifact: 'good.onnx', dataset: 'empty.csv' }, 'EmptyDataset', /no rows/],
      [
        'a model over the size limit',
        { artifact: 'big.onnx' },
        'ArtifactTooLarge',
        /larger than the limit of 65536 bytes/,
      ],
      [
        'a sha256 that does not match the spec',
        { artifact: 'good.onnx', sha256: 'a'.repeat(64) },
        'ArtifactChecksumMismatch',
        /sha256 mismatch .* expected a{64}, got [0-9a-f]{64}/,
      ],
      ['a missing artifact', { artifact: 'nope.onnx' }, 'ArtifactNotFound', /not found/],
      [
        'an unknown metric',
        { artifact: 'good.onnx', metrics: [{ name: 'latency', max: 5 }] },
        'InvalidEvaluationSpec',
        /unknown metric latency/,
      ],
    ];
    it.each(cases.map(([what, o, reason, message], i) => [what, o, reason, message, i] as const))(
      '%s',
      async (_what, o, reason, message, i) => {
        const model = `err${i}`;
        await create(ns, { model, version: 1, artifact: 'good.onnx', ...o });
        const mv = await settled(ns, `${model}-v1`);
        expect(mv.status?.phase).toBe('Failed');
        expect(mv.status?.message).toMatch(message);
        expect(mv.status?.gate?.summary).toMatch(new RegExp(`^FAILED ${reason}: `));
        expect(mv.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason });
        await waitFor(`the ${reason} event`, async () =>
          (await eventReasons(ns, `${model}-v1`)).includes(reason) ? true : undefined,
        );
      },
    );
  });
});

describe('a transient storage failure', () => {
  const ns = uniqueName('gate-tr');
  let stop: (() => Promise<void>) | undefined;
  let proxy: Server | undefined;
  let port = 0;

  beforeAll(async () => {
    expect((await kubectl(['create', 'namespace', ns])).code).toBe(0);
    // A port where nothing listens yet; later a proxy to fake-gcs-server opens on it (storage comes back).
    port = await freePort();
    stop = startController(ns, `http://127.0.0.1:${port}`);
  });
  afterAll(async () => {
    await stop?.();
    proxy?.close();
    await kubectl(['delete', 'namespace', ns, '--wait=false']);
  });

  it('keeps Evaluating with the reason, retries with backoff, and passes once storage is back', async () => {
    await create(ns, { model: 'flaky', version: 1, artifact: 'good.onnx' });
    const retrying = await waitFor('Evaluating with StorageUnavailable', async () => {
      const mv = await get(ns, 'flaky-v1');
      const ready = mv.status?.conditions?.find((c) => c.type === 'Ready');
      return mv.status?.phase === 'Evaluating' && ready?.reason === 'StorageUnavailable' ? mv : undefined;
    });
    expect(retrying.status?.message).toMatch(/storage unavailable .*\(attempt 1; retrying in \d+s\)/);
    await waitFor('the EvaluationRetrying event', async () =>
      (await eventReasons(ns, 'flaky-v1')).includes('EvaluationRetrying') ? true : undefined,
    );
    const target = new URL(gcsEndpoint);
    proxy = createServer((client) => {
      const upstream = createConnection(Number(target.port), target.hostname);
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((r) => proxy!.listen(port, '127.0.0.1', () => r()));
    const mv = await settled(ns, 'flaky-v1', 90_000);
    expect(mv.status?.phase).toBe('Passed');
  });
});
