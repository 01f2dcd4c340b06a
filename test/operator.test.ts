import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeConfig, kubectl, uniqueName, waitFor } from './support/cluster.ts';
import type { OperatorProcess } from './support/operator.ts';
import {
  installManifests,
  operatorKubeconfig,
  sampleObjects,
  startOperator,
  stopOperator,
} from './support/operator.ts';

const GROUP = 'mlops.dev';
const VERSION = 'v1alpha1';
const KINDS = [
  { key: 'tp', plural: 'trainingpipelines', controller: 'trainingpipeline' },
  { key: 'mv', plural: 'modelversions', controller: 'modelversion' },
  { key: 'isvc', plural: 'inferenceservices', controller: 'inferenceservice' },
] as const;

interface Cond {
  type: string;
  status: string;
  reason: string;
  observedGeneration?: number;
}
interface Obj {
  metadata: { name: string; generation: number; resourceVersion: string };
  status?: { observedGeneration?: number; conditions?: Cond[] };
}

describe('operator against the real API server, as its ServiceAccount', () => {
  const ns = uniqueName('op');
  const api = kubeConfig().makeApiClient(k8s.CustomObjectsApi);
  let op: OperatorProcess | undefined;
  let saKubeconfig = '';

  const get = async (plural: string, name: string): Promise<Obj> =>
    (await api.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural, name })) as Obj;

  beforeAll(async () => {
    await installManifests();
    expect((await kubectl(['create', 'namespace', ns])).code).toBe(0);
    saKubeconfig = await operatorKubeconfig();
  });

  afterAll(async () => {
    if (op) await stopOperator(op, 'SIGKILL');
    await kubectl(['delete', 'namespace', ns, '--wait=false']);
  });

  it('kubectl apply --server-side -k manifests/base succeeds and the identity is least-privileged', async () => {
    const as = ['--as=system:serviceaccount:mlops-system:mlops-operator'];
    const can = async (...args: string[]) => (await kubectl(['auth', 'can-i', ...as, ...args])).stdout.trim();
    expect(await can('watch', 'trainingpipelines.mlops.dev', '-A')).toBe('yes');
    expect(await can('patch', 'modelversions.mlops.dev', '--subresource=status', '-n', ns)).toBe('yes');
    expect(await can('create', 'events.events.k8s.io', '-n', ns)).toBe('yes');
    // The gate's baseline lookup (model-version/evaluate.ts) reads the InferenceService and lists versions.
    expect(await can('get', 'inferenceservices.mlops.dev', '-n', ns)).toBe('yes');
    expect(await can('list', 'modelversions.mlops.dev', '-n', ns)).toBe('yes');
    expect(await can('update', 'leases.coordination.k8s.io/mlops-operator-leader', '-n', 'mlops-system')).toBe('yes');
    // No more than the code uses:
    expect(await can('update', 'trainingpipelines.mlops.dev', '-n', ns)).toBe('no');
    expect(await can('get', 'secrets', '-n', ns)).toBe('no');
    expect(await can('update', 'leases.coordination.k8s.io/someone-else', '-n', 'mlops-system')).toBe('no');
    expect(await can('create', 'leases.coordination.k8s.io', '-n', ns)).toBe('no');
  });

  it('reconciles the three kinds: observedGeneration and Ready appear, follow spec changes, and /metrics counts them', async () => {
    op = startOperator(
      [`--kubeconfig=${saKubeconfig}`, `--namespaces=${ns}`, '--leader-elect=false', '--workers=2'],
      'op',
    );
    await op.port;
    const objs = sampleObjects(ns, 'demo');
    for (const k of KINDS) {
      const r = await kubectl(['apply', '--server-side', '-f', '-'], JSON.stringify(objs[k.key]));
      expect(r.code, r.stderr).toBe(0);
    }
    const names = { tp: 'demo', mv: 'demo-v1', isvc: 'demo' } as const;
    for (const k of KINDS) {
      const o = await waitFor(`${k.plural}/${names[k.key]} observed`, async () => {
        const o = await get(k.plural, names[k.key]);
        return o.status?.observedGeneration === o.metadata.generation ? o : undefined;
      });
      // Later issues decide what Ready means per kind (the ModelVersion gate, for one); the runtime guarantees
      // that a Ready condition is there and names the observed generation.
      const ready = o.status?.conditions?.find((c) => c.type === 'Ready');
      expect(ready?.status).toMatch(/^(True|False|Unknown)$/);
      expect(ready?.reason).toMatch(/^[A-Z][A-Za-z]+$/);
    }

    // Events mark the Ready transitions, written by the operator's identity (so RBAC allows them).
    const kinds = await waitFor('an Event about each kind', async () => {
      const r = await kubectl(['get', 'events.events.k8s.io', '-n', ns, '-o', 'json']);
      const items = (JSON.parse(r.stdout) as { items: { reportingController: string; regarding: { kind: string } }[] })
        .items;
      const kinds = new Set(
        items.filter((e) => e.reportingController === 'mlops.dev/mlops-operator').map((e) => e.regarding.kind),
      );
      return kinds.size === 3 ? kinds : undefined;
    });
    expect(kinds).toEqual(new Set(['TrainingPipeline', 'ModelVersion', 'InferenceService']));

    // A spec change moves observedGeneration; the reconcile counter moves with it.
    const before = await op.metric('controller_runtime_reconcile_total', { controller: 'trainingpipeline' });
    expect(before).toBeGreaterThan(0);
    const patched = await kubectl([
      'patch',
      'trainingpipeline',
      'demo',
      '-n',
      ns,
      '--type=merge',
      '-p',
      '{"spec":{"suspend":true}}',
    ]);
    expect(patched.code, patched.stderr).toBe(0);
    await waitFor('generation 2 observed', async () => {
      const o = await get('trainingpipelines', 'demo');
      return o.metadata.generation === 2 && o.status?.observedGeneration === 2 ? o : undefined;
    });
    await waitFor('reconcile_total to move', async () => {
      const after = await op!.metric('controller_runtime_reconcile_total', { controller: 'trainingpipeline' });
      return after > before ? after : undefined;
    });
    for (const name of ['workqueue_adds_total', 'workqueue_depth', 'workqueue_queue_duration_seconds_count']) {
      expect(await op.metrics()).toContain(`${name}{name="trainingpipeline"}`);
    }
    expect(await op.metric('controller_runtime_reconcile_errors_total', { controller: 'trainingpipeline' })).toBe(0);

    // A reconcile that changes nothing writes nothing: the resourceVersion stays put after the status settled.
    const settled = await get('trainingpipelines', 'demo');
    const rv = settled.metadata.resourceVersion;
    const reconciles = await op.metric('controller_runtime_reconcile_total', { controller: 'trainingpipeline' });
    const touch = await kubectl(['label', 'trainingpipeline', 'demo', '-n', ns, 'touched=yes']);
    expect(touch.code).toBe(0);
    await waitFor('the label change to be reconciled', async () =>
      (await op!.metric('controller_runtime_reconcile_total', { controller: 'trainingpipeline' })) > reconciles
        ? true
        : undefined,
    );
    const afterTouch = await get('trainingpipelines', 'demo');
    expect(afterTouch.status).toEqual(settled.status);
    expect(Number(afterTouch.metadata.resourceVersion)).toBeGreaterThan(Number(rv)); // the label write itself

    // /healthz and /readyz
    const port = await op.port;
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
  });

  it('exits 0 on SIGTERM after stopping its workers', async () => {
    expect(op).toBeDefined();
    const code = await stopOperator(op!, 'SIGTERM');
    expect(code).toBe(0);
    expect(op!.hasLog('workers stopped')).toBe(true);
    op = undefined;
  });
});
