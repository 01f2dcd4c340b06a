/**
 * The CRDs against the real API server: they install and become Established (with the third-party CRDs the
 * operator works with), every example passes a server-side dry run, invalid objects are rejected with messages a
 * user understands, and `kubectl get` prints the columns that tell the story.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import type { InferenceService, ModelVersion, TrainingPipeline } from '../operator/src/api/index.ts';
import { API_VERSION, KINDS } from '../operator/src/api/index.ts';
import { kubectl, uniqueName, waitFor } from './support/cluster.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const CRD_FILES = ['crds/trainingpipelines.yaml', 'crds/modelversions.yaml', 'crds/inferenceservices.yaml'];
const THIRD_PARTY = path.join(root, '..', 'shared', 'thirdparty-crds');
const FIELD_MANAGER = 'mlops-crds-test';

async function mustKubectl(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr || r.stdout}`);
  return r.stdout;
}

/**
 * Server-side apply, so reruns against a reused control plane update CRDs that changed and leave the rest alone,
 * and CRDs too large for the last-applied annotation (Argo CD's Application) still install. Returns the CRD names.
 */
async function installCrds(files: string[]): Promise<string[]> {
  const names: string[] = [];
  for (const file of files) {
    const out = await mustKubectl([
      'apply',
      '--server-side',
      '--force-conflicts',
      `--field-manager=${FIELD_MANAGER}`,
      '-f',
      file,
    ]);
    for (const m of out.matchAll(/customresourcedefinition\.apiextensions\.k8s\.io\/(\S+)/g)) names.push(m[1]!);
  }
  return names;
}

async function waitEstablished(names: string[]): Promise<void> {
  for (const name of names) {
    // Polled rather than `kubectl wait`, which fails instead of waiting while a new CRD has no conditions yet.
    await waitFor(
      `CRD ${name} to be Established`,
      async () => {
        const r = await kubectl([
          'get',
          'crd',
          name,
          '-o',
          'jsonpath={.status.conditions[?(@.type=="Established")].status}',
        ]);
        return r.stdout === 'True' ? true : undefined;
      },
      { timeoutMs: 60_000 },
    );
  }
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((f) => {
      const p = path.join(dir, f);
      if (statSync(p).isDirectory()) return yamlFiles(p);
      return f.endsWith('.yaml') || f.endsWith('.yml') ? [p] : [];
    });
}

// --- valid objects; each invalid case below changes one thing -------------------------------------------------

function pipeline(ns: string): TrainingPipeline {
  return {
    apiVersion: API_VERSION,
    kind: 'TrainingPipeline',
    metadata: { name: 'ad-click', namespace: ns },
    spec: {
      model: 'ad-click',
      data: { uri: 'gs://acme-ml/ad-click/raw/' },
      triggers: {
        schedule: { cron: '0 3 * * *', timeZone: 'Asia/Seoul', catchUp: 'Latest' },
        data: { pollInterval: '5m', minInterval: '1h' },
      },
      concurrencyPolicy: 'Forbid',
      dataValidation: { format: 'csv', minRows: 10, columns: [{ name: 'clicked', type: 'int', min: 0, max: 1 }] },
      training: {
        image: 'ghcr.io/acme/ad-click-train:1.4',
        hyperparameters: { learning_rate: '0.05' },
        resources: { limits: { 'nvidia.com/gpu': 1, memory: '16Gi' } },
        workers: 1,
        env: [{ name: 'LOG_LEVEL', value: 'info' }],
      },
      sweep: {
        parameters: { learning_rate: ['0.01', '0.1'] },
        parallelism: 2,
        objective: { metric: 'auc', goal: 'Maximize' },
      },
      artifacts: { uri: 'gs://acme-ml/ad-click/runs/' },
      evaluation: {
        dataset: { uri: 'gs://acme-ml/ad-click/eval.csv', format: 'csv', label: 'clicked' },
        metrics: [
          { name: 'auc', min: 0.75 },
          { name: 'logloss', max: 0.5 },
        ],
        baseline: { inferenceService: 'ad-click', maxRegression: { auc: 0.005 }, onMissing: 'Pass' },
        minExamples: 100,
      },
    },
  };
}

function modelVersion(ns: string, version = 1): ModelVersion {
  return {
    apiVersion: API_VERSION,
    kind: 'ModelVersion',
    metadata: { name: `ad-click-v${version}`, namespace: ns, labels: { 'mlops.dev/model': 'ad-click' } },
    spec: {
      model: 'ad-click',
      version,
      artifact: {
        uri: 'gs://acme-ml/ad-click/runs/r1/model.onnx',
        format: 'onnx',
        sha256: 'a'.repeat(64),
        sizeBytes: 81234,
      },
      source: { pipeline: 'ad-click', run: 'r1' },
      trainingMetrics: { auc: 0.81 },
      evaluation: {
        dataset: { uri: 'gs://acme-ml/ad-click/eval.csv', label: 'clicked' },
        metrics: [{ name: 'auc', min: 0.75 }],
      },
    },
  };
}

function inferenceService(ns: string): InferenceService {
  return {
    apiVersion: API_VERSION,
    kind: 'InferenceService',
    metadata: { name: 'ad-click', namespace: ns },
    spec: {
      model: 'ad-click',
      modelVersion: 'ad-click-v1',
      promotion: 'Auto',
      runtime: { replicas: 2, batching: { maxBatchSize: 32 } },
      traffic: { gatewayAPI: { parentRefs: [{ name: 'public' }], hostnames: ['ad-click.acme.com'] } },
      rollout: {
        steps: [{ setWeight: 10 }, { pause: { duration: '5m' } }, { analysis: {} }, { setWeight: 50 }, { pause: {} }],
        analysis: {
          interval: '30s',
          minRequests: 200,
          failureLimit: 2,
          metrics: [
            { name: 'error-rate', builtin: 'errorRate', max: 0.01 },
            { name: 'latency', builtin: 'latencyP99Ms', max: 50, maxIncreaseOverStable: 1.2 },
            { name: 'business', prometheus: { address: 'http://prometheus:9090', query: 'vector(0.01)' }, max: 0.05 },
          ],
        },
      },
    },
  };
}

/** A deep copy of `obj` with `changes` applied; keys are dotted paths (numbers index arrays), undefined deletes. */
function changed<T extends object>(obj: T, changes: Record<string, unknown>): T {
  const copy = structuredClone(obj);
  for (const [p, value] of Object.entries(changes)) {
    const keys = p.split('.');
    let node = copy as Record<string, unknown>;
    for (const k of keys.slice(0, -1)) node = node[k] as Record<string, unknown>;
    const last = keys[keys.length - 1]!;
    if (value === undefined) delete node[last];
    else node[last] = value;
  }
  return copy;
}

interface InvalidCase {
  name: string;
  object: (ns: string) => object;
  /** Text the API server's answer must contain, as a user would read it. */
  want: string | RegExp;
}

const tp = (changes: Record<string, unknown>) => (ns: string) => changed(pipeline(ns), changes);
const mv = (changes: Record<string, unknown>) => (ns: string) => changed(modelVersion(ns), changes);
const isvc = (changes: Record<string, unknown>) => (ns: string) => changed(inferenceService(ns), changes);

const INVALID: InvalidCase[] = [
  { name: 'pipeline without model', object: tp({ 'spec.model': undefined }), want: 'spec.model: Required value' },
  {
    name: 'pipeline model that is not a DNS label',
    object: tp({ 'spec.model': 'Ad_Click' }),
    want: 'model must be lowercase letters, digits and',
  },
  {
    name: 'seconds-first 6-field cron',
    object: tp({ 'spec.triggers.schedule.cron': '0 0 3 * * *' }),
    want: 'cron must have 5 fields (minute hour day-of-month month day-of-week',
  },
  {
    name: 'cron in words',
    object: tp({ 'spec.triggers.schedule.cron': 'every day at 3' }),
    want: 'cron must have 5 fields',
  },
  {
    name: 'cron with a TZ prefix',
    object: tp({ 'spec.triggers.schedule.cron': 'CRON_TZ=UTC 0 3 * * *' }),
    want: 'put the time zone in timeZone',
  },
  {
    name: 'duration in words',
    object: tp({ 'spec.triggers.data.pollInterval': '5 minutes' }),
    want: 'pollInterval must be a duration such as 30s, 5m or 1h',
  },
  {
    name: 'catchUp All',
    object: tp({ 'spec.triggers.schedule.catchUp': 'All' }),
    want: /Unsupported value: "All".*"None", "Latest"/,
  },
  {
    name: 'unknown concurrencyPolicy',
    object: tp({ 'spec.concurrencyPolicy': 'Sometimes' }),
    want: /spec.concurrencyPolicy: Unsupported value: "Sometimes": supported values: "Forbid", "Replace", "Allow"/,
  },
  {
    name: 'workers < 1',
    object: tp({ 'spec.training.workers': 0 }),
    want: 'spec.training.workers: Invalid value: 0: spec.training.workers in body should be greater than or equal to 1',
  },
  { name: 'data format xlsx', object: tp({ 'spec.dataValidation.format': 'xlsx' }), want: /Unsupported value: "xlsx"/ },
  {
    name: 'column min above max',
    object: tp({ 'spec.dataValidation.columns': [{ name: 'age', min: 10, max: 1 }] }),
    want: 'column min must not be greater than max',
  },
  {
    name: 'artifacts on s3',
    object: tp({ 'spec.artifacts.uri': 's3://bucket/runs/' }),
    want: 'uri must be a gs://bucket/path or file:///path URI',
  },
  {
    name: 'env that overrides the training-pod contract',
    object: tp({ 'spec.training.env': [{ name: 'MLOPS_DATA_URI', value: 'file:///tmp' }] }),
    want: 'env names starting with MLOPS_ or HP_',
  },
  {
    name: 'hyperparameter name that cannot become HP_<NAME>',
    object: tp({ 'spec.training.hyperparameters': { 'learning-rate': '0.1' } }),
    want: 'hyperparameter names must start with a letter and contain only letters, digits and',
  },
  {
    name: 'sweep goal Max',
    object: tp({ 'spec.sweep.objective.goal': 'Max' }),
    want: /Unsupported value: "Max": supported values: "Maximize", "Minimize"/,
  },
  {
    name: 'baseline regression on a metric that is not computed',
    object: tp({ 'spec.evaluation.baseline.maxRegression': { f1: 0.01 } }),
    want: 'every metric in baseline.maxRegression must also be listed in evaluation.metrics',
  },
  {
    name: 'onMissing Skip',
    object: tp({ 'spec.evaluation.baseline.onMissing': 'Skip' }),
    want: /Unsupported value: "Skip": supported values: "Pass", "Fail"/,
  },
  {
    name: 'pipeline without training data',
    object: tp({ 'spec.data': undefined, 'spec.triggers.data': undefined }),
    want: 'the pipeline needs training data; set spec.data.uri (or triggers.data.uri)',
  },
  {
    name: 'sha256 that is not 64 hex characters',
    object: mv({ 'spec.artifact.sha256': 'ABC123' }),
    want: 'sha256 must be 64 lowercase hexadecimal characters',
  },
  {
    name: 'ModelVersion name that does not match model and version',
    object: mv({ 'metadata.name': 'ad-click-v2' }),
    want: 'metadata.name must be <spec.model>-v<spec.version>, e.g. ad-click-v7',
  },
  {
    name: 'ModelVersion of another model name',
    object: mv({ 'metadata.name': 'fraud-v1' }),
    want: 'metadata.name must be <spec.model>-v<spec.version>',
  },
  {
    name: 'artifact format pickle',
    object: mv({ 'spec.artifact.format': 'pickle' }),
    want: /Unsupported value: "pickle"/,
  },
  { name: 'version 0', object: mv({ 'spec.version': 0 }), want: 'should be greater than or equal to 1' },
  {
    name: 'weight above 100',
    object: isvc({ 'spec.rollout.steps.0': { setWeight: 150 } }),
    want: 'spec.rollout.steps[0].setWeight in body should be less than or equal to 100',
  },
  {
    name: 'negative weight',
    object: isvc({ 'spec.rollout.steps.0': { setWeight: -5 } }),
    want: 'spec.rollout.steps[0].setWeight in body should be greater than or equal to 0',
  },
  {
    name: 'step with two actions',
    object: isvc({ 'spec.rollout.steps.0': { setWeight: 10, pause: {} } }),
    want: 'each rollout step must have exactly one of setWeight, pause or analysis',
  },
  {
    name: 'empty step',
    object: isvc({ 'spec.rollout.steps.1': {} }),
    want: 'each rollout step must have exactly one of setWeight, pause or analysis',
  },
  {
    name: 'metric with two providers',
    object: isvc({
      'spec.rollout.analysis.metrics.0': {
        name: 'error-rate',
        builtin: 'errorRate',
        prometheus: { address: 'http://prometheus:9090', query: 'up' },
        max: 0.01,
      },
    }),
    want: 'each analysis metric needs exactly one provider, builtin or prometheus',
  },
  {
    name: 'metric without provider',
    object: isvc({ 'spec.rollout.analysis.metrics.0': { name: 'error-rate', max: 0.01 } }),
    want: 'each analysis metric needs exactly one provider, builtin or prometheus',
  },
  {
    name: 'metric without threshold',
    object: isvc({ 'spec.rollout.analysis.metrics.0': { name: 'error-rate', builtin: 'errorRate' } }),
    want: 'each analysis metric needs a threshold, min, max or maxIncreaseOverStable',
  },
  {
    name: 'unknown promotion',
    object: isvc({ 'spec.promotion': 'Yolo' }),
    want: /spec.promotion: Unsupported value: "Yolo": supported values: "Auto", "PullRequest", "Manual"/,
  },
  {
    name: 'modelVersion of another model',
    object: isvc({ 'spec.modelVersion': 'fraud-v3' }),
    want: 'modelVersion must be a version of spec.model, i.e. <model>-v<N>',
  },
  {
    name: 'modelVersion of a model whose name extends this one',
    object: isvc({ 'spec.modelVersion': 'ad-click-eu-v3' }),
    want: 'modelVersion must be a version of spec.model',
  },
  {
    name: 'PullRequest promotion without git',
    object: isvc({ 'spec.promotion': 'PullRequest' }),
    want: 'promotion: PullRequest needs spec.git',
  },
  {
    name: 'analysis interval in words',
    object: isvc({ 'spec.rollout.analysis.interval': '30 seconds' }),
    want: 'interval must be a duration such as 30s, 1m or 5m',
  },
  {
    name: 'pause duration in words',
    object: isvc({ 'spec.rollout.steps.1': { pause: { duration: 'soon' } } }),
    want: 'pause duration must be a duration',
  },
  {
    name: 'analysis step without analysis metrics',
    object: isvc({ 'spec.rollout.analysis': undefined }),
    want: 'an analysis step needs rollout.analysis.metrics to measure',
  },
  {
    name: 'analysis step naming an unknown metric',
    object: isvc({ 'spec.rollout.steps.2': { analysis: { metrics: ['throughput'] } } }),
    want: 'an analysis step may only name metrics listed in rollout.analysis.metrics',
  },
];

describe('CRDs on a real API server', () => {
  const ns = uniqueName('crds');
  let ours: string[] = [];

  beforeAll(async () => {
    ours = await installCrds(CRD_FILES);
    await waitEstablished(ours);
    await mustKubectl(['create', 'namespace', ns]);
  });

  afterAll(async () => {
    await kubectl(['delete', 'namespace', ns, '--wait=false']);
  });

  it('installs the three CRDs, Established, with short names and the mlops category', async () => {
    expect([...ours].sort()).toEqual(KINDS.map((k) => `${k.plural}.mlops.dev`).sort());
    // A second apply of unchanged CRDs is a no-op, so reruns against a reused control plane are safe.
    expect(await installCrds(CRD_FILES)).toEqual(ours);
    const out = await waitFor('mlops.dev in discovery', async () => {
      const r = await kubectl(['api-resources', '--api-group=mlops.dev', '-o', 'wide']);
      return r.code === 0 && r.stdout.includes('mlisvc') ? r.stdout : undefined;
    });
    for (const k of KINDS) {
      expect(out).toMatch(
        new RegExp(
          `^${k.plural}\\s+${k.shortNames.join(',')}\\s+mlops.dev/v1alpha1\\s+true\\s+${k.kind}\\s.*mlops`,
          'm',
        ),
      );
    }
  });

  for (const [dir, pattern] of [
    ['gateway-api-v1.6.1', /\.yaml$/],
    ['argo-cd-v3.5.1', /-crd\.yaml$/],
  ] as const) {
    const where = path.join(THIRD_PARTY, dir);
    const missing = !existsSync(where);
    it.skipIf(missing)(
      `installs the third-party CRDs of ${dir}${missing ? ' (skipped: ../shared/thirdparty-crds not found)' : ''}`,
      async () => {
        const files = readdirSync(where)
          .filter((f) => pattern.test(f))
          .map((f) => path.join(where, f));
        expect(files.length).toBeGreaterThan(0);
        const names = await installCrds(files);
        expect(names.length).toBe(files.length);
        await waitEstablished(names);
      },
    );
  }

  describe('every example passes a server-side dry run', () => {
    const files = yamlFiles(path.join(root, 'examples'));
    it('finds the examples', () => {
      expect(files.map((f) => path.relative(root, f))).toEqual(
        expect.arrayContaining([
          'examples/namespace.yaml',
          'examples/ad-click/trainingpipeline.yaml',
          'examples/ad-click/modelversion.yaml',
          'examples/ad-click/inferenceservice.yaml',
          'examples/mnist/trainingpipeline.yaml',
          'examples/mnist/inferenceservice.yaml',
        ]),
      );
    });
    for (const file of files) {
      it(path.relative(root, file), async () => {
        // The examples live in namespace ml; the dry run uses this run's namespace so it needs no shared state.
        const docs = parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJSON() as Record<string, unknown>);
        const moved = docs.map((d) => {
          const meta = d.metadata as { namespace?: string } | undefined;
          if (meta?.namespace === 'ml') meta.namespace = ns;
          return stringify(d);
        });
        const r = await kubectl(
          ['apply', '--server-side', '--dry-run=server', `--field-manager=${FIELD_MANAGER}`, '-f', '-'],
          moved.join('---\n'),
        );
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        expect(r.stdout.match(/\(server dry run\)/g)).toHaveLength(docs.length);
      });
    }
  });

  describe('rejects invalid objects with a message a user understands', () => {
    it('accepts the valid objects the cases start from', async () => {
      for (const obj of [pipeline(ns), modelVersion(ns), inferenceService(ns)]) {
        const r = await kubectl(['create', '--dry-run=server', '-f', '-'], JSON.stringify(obj));
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
      }
    });

    it(`has at least 20 cases (${INVALID.length})`, () => {
      expect(INVALID.length).toBeGreaterThanOrEqual(20);
    });

    for (const c of INVALID) {
      it(c.name, async () => {
        const r = await kubectl(['create', '--dry-run=server', '-f', '-'], JSON.stringify(c.object(ns)));
        expect(r.code).not.toBe(0);
        if (typeof c.want === 'string') expect(r.stderr).toContain(c.want);
        else expect(r.stderr).toMatch(c.want);
      });
    }
  });

  describe('rejects invalid updates', () => {
    it('keeps a ModelVersion spec immutable, while its status can still be written', async () => {
      const obj = modelVersion(ns, 5);
      await mustKubectl(['create', '-f', '-'], JSON.stringify(obj));
      const r = await kubectl([
        'patch',
        'mv',
        obj.metadata.name!,
        '-n',
        ns,
        '--type=merge',
        '-p',
        JSON.stringify({ spec: { artifact: { uri: 'gs://acme-ml/ad-click/other/model.onnx' } } }),
      ]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('spec is immutable; create a new ModelVersion instead');
      await mustKubectl([
        'patch',
        'mv',
        obj.metadata.name!,
        '-n',
        ns,
        '--subresource=status',
        '--type=merge',
        '-p',
        JSON.stringify({ status: { phase: 'Evaluating' } }),
      ]);
      const phase = await mustKubectl(['get', 'mv', obj.metadata.name!, '-n', ns, '-o', 'jsonpath={.status.phase}']);
      expect(phase).toBe('Evaluating');
    });

    it('keeps the model of a pipeline and of a service immutable', async () => {
      const p = changed(pipeline(ns), { 'metadata.name': 'immutable-model' });
      const s = changed(inferenceService(ns), { 'metadata.name': 'immutable-model' });
      for (const [resource, obj, want] of [
        ['tp', p, 'model is immutable; create a new TrainingPipeline'],
        ['mlisvc', s, 'model is immutable; create a new InferenceService'],
      ] as const) {
        await mustKubectl(['create', '-f', '-'], JSON.stringify(obj));
        const r = await kubectl([
          'patch',
          resource,
          'immutable-model',
          '-n',
          ns,
          '--type=merge',
          '-p',
          JSON.stringify({ spec: { model: 'fraud', modelVersion: resource === 'mlisvc' ? 'fraud-v1' : undefined } }),
        ]);
        expect(r.code).not.toBe(0);
        expect(r.stderr).toContain(want);
      }
    });
  });

  describe('kubectl get tells the story', () => {
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

    beforeAll(async () => {
      for (const obj of [pipeline(ns), modelVersion(ns, 7), modelVersion(ns, 8), inferenceService(ns)]) {
        await mustKubectl(['create', '-f', '-'], JSON.stringify(obj));
      }
      const status = (resource: string, name: string, body: object) =>
        mustKubectl([
          'patch',
          resource,
          name,
          '-n',
          ns,
          '--subresource=status',
          '--type=merge',
          '-p',
          JSON.stringify({ status: body }),
        ]);
      await status('tp', 'ad-click', {
        phase: 'Idle',
        lastRunTime: now,
        nextScheduleTime: '2031-01-02T03:00:00Z',
        latestModelVersion: 'ad-click-v7',
        runs: [
          { name: 'ad-click-20261122-0300', trigger: 'Schedule', phase: 'Succeeded', modelVersion: 'ad-click-v7' },
        ],
      });
      await status('mv', 'ad-click-v7', {
        phase: 'Passed',
        gate: {
          evaluatedAt: now,
          examples: 5000,
          checks: [{ metric: 'auc', type: 'Min', threshold: 0.75, value: 0.812, passed: true }],
          summary: 'auc 0.812 (+0.004 vs v6)',
        },
        conditions: [
          {
            type: 'Evaluated',
            status: 'True',
            reason: 'GatePassed',
            message: 'all checks passed',
            lastTransitionTime: now,
          },
        ],
      });
      await status('mlisvc', 'ad-click', {
        phase: 'Progressing',
        stable: { modelVersion: 'ad-click-v6', readyReplicas: 2 },
        canary: { modelVersion: 'ad-click-v7', weight: 10, step: 1, stepStartedAt: now },
      });
    });

    it('lists all three kinds under `kubectl get mlops` with their columns', async () => {
      const out = await waitFor('kubectl get mlops to list the three kinds', async () => {
        const r = await kubectl(['get', 'mlops', '-n', ns]);
        return r.code === 0 && r.stdout.includes('inferenceservice') ? r.stdout : undefined;
      });
      const lines = out.split('\n');
      const headers = lines.filter((l) => l.startsWith('NAME')).map((l) => l.trim().split(/\s{2,}/));
      expect(headers).toEqual(
        expect.arrayContaining([
          ['NAME', 'MODEL', 'PHASE', 'LAST RUN', 'LATEST', 'NEXT RUN', 'AGE'],
          ['NAME', 'MODEL', 'VERSION', 'PHASE', 'GATE', 'AGE'],
          ['NAME', 'MODEL', 'STABLE', 'CANARY', 'WEIGHT', 'STEP', 'PHASE', 'AGE'],
        ]),
      );
      const row = (prefix: string) =>
        lines
          .find((l) => l.startsWith(prefix))
          ?.trim()
          .split(/\s{2,}/);
      expect(row('trainingpipeline.mlops.dev/ad-click')).toEqual([
        'trainingpipeline.mlops.dev/ad-click',
        'ad-click',
        'Idle',
        expect.stringMatching(/^\d+[smhd]/),
        'ad-click-v7',
        '2031-01-02T03:00:00Z',
        expect.stringMatching(/^\d+[smhd]/),
      ]);
      expect(row('modelversion.mlops.dev/ad-click-v7')).toEqual([
        'modelversion.mlops.dev/ad-click-v7',
        'ad-click',
        '7',
        'Passed',
        'auc 0.812 (+0.004 vs v6)',
        expect.stringMatching(/^\d+[smhd]/),
      ]);
      expect(row('inferenceservice.mlops.dev/ad-click')).toEqual([
        'inferenceservice.mlops.dev/ad-click',
        'ad-click',
        'ad-click-v6',
        'ad-click-v7',
        '10',
        '1',
        'Progressing',
        expect.stringMatching(/^\d+[smhd]/),
      ]);
    });

    it('shows the gate summary under `kubectl get mv`', async () => {
      const out = await mustKubectl(['get', 'mv', '-n', ns]);
      expect(out).toMatch(/^NAME\s+MODEL\s+VERSION\s+PHASE\s+GATE\s+AGE$/m);
      expect(out).toMatch(/^ad-click-v7\s+ad-click\s+7\s+Passed\s+auc 0\.812 \(\+0\.004 vs v6\)\s+\d+[smhd]\S*$/m);
      // A version the operator has not looked at yet shows empty PHASE and GATE cells, not an error.
      expect(out).toMatch(/^ad-click-v8\s+ad-click\s+8\s+\d+[smhd]\S*$/m);
    });
  });
});
