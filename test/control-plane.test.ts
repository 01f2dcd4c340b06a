import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeConfig, kubectl, uniqueName, waitFor } from './support/cluster.ts';

// The local control plane is real: kube-scheduler binds pods by their resource requests, kwok plays the kubelet.
describe('local control plane', () => {
  const kc = kubeConfig();
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const batch = kc.makeApiClient(k8s.BatchV1Api);
  const ns = uniqueName('cp');
  const gpuNode = uniqueName('kwok-gpu');
  const cpuNode = uniqueName('kwok-cpu');

  beforeAll(async () => {
    await core.createNamespace({ body: { metadata: { name: ns } } });
    for (const [name, gpus] of [
      [gpuNode, '2'],
      [cpuNode, undefined],
    ] as const) {
      const capacity: Record<string, string> = { cpu: '32', memory: '256Gi', pods: '110' };
      if (gpus) capacity['nvidia.com/gpu'] = gpus;
      await core.createNode({
        body: {
          metadata: {
            name,
            labels: { type: 'kwok', 'kubernetes.io/hostname': name, 'mlops.dev/test-run': ns },
            annotations: { 'kwok.x-k8s.io/node': 'fake' },
          },
          // Only pods of this test may land here: other tests' pods would not tolerate the taint.
          spec: { taints: [{ key: 'mlops.dev/test-run', value: ns, effect: 'NoSchedule' }] },
          status: { capacity, allocatable: capacity },
        },
      });
    }
    await waitFor('the default ServiceAccount', async () =>
      (await core.listNamespacedServiceAccount({ namespace: ns })).items.some((sa) => sa.metadata?.name === 'default')
        ? true
        : undefined,
    );
  });

  afterAll(async () => {
    await core.deleteNamespace({ name: ns }).catch(() => undefined);
    for (const n of [gpuNode, cpuNode]) await core.deleteNode({ name: n }).catch(() => undefined);
  });

  const tolerate = [
    { key: 'mlops.dev/test-run', operator: 'Equal' as const, value: ns, effect: 'NoSchedule' as const },
  ];

  it('serves /version with the version it was built as', async () => {
    const r = await kubectl(['version', '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const v = JSON.parse(r.stdout) as { serverVersion: { gitVersion: string } };
    expect(v.serverVersion.gitVersion).toMatch(/^v1\.\d+\.\d+$/);
  });

  it('kwok reports the simulated GPU node Ready with its nvidia.com/gpu capacity', async () => {
    const node = await waitFor('the GPU node to become Ready', async () => {
      const n = await core.readNode({ name: gpuNode });
      return n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? n : undefined;
    });
    expect(node.status?.allocatable?.['nvidia.com/gpu']).toBe('2');
  });

  it('schedules a pod that requests nvidia.com/gpu: 1 onto the GPU node, never the CPU node', async () => {
    await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'train' },
        spec: {
          tolerations: tolerate,
          containers: [{ name: 'train', image: 'trainer:1', resources: { limits: { 'nvidia.com/gpu': '1' } } }],
        },
      },
    });
    const pod = await waitFor('the GPU pod to run', async () => {
      const p = await core.readNamespacedPod({ namespace: ns, name: 'train' });
      return p.status?.phase === 'Running' ? p : undefined;
    });
    expect(pod.spec?.nodeName).toBe(gpuNode);
  });

  it('leaves a pod that asks for more GPUs than any node has Pending, with the scheduler saying why', async () => {
    await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'too-big' },
        spec: {
          tolerations: tolerate,
          containers: [{ name: 'train', image: 'trainer:1', resources: { limits: { 'nvidia.com/gpu': '4' } } }],
        },
      },
    });
    const cond = await waitFor('the PodScheduled=False condition', async () => {
      const p = await core.readNamespacedPod({ namespace: ns, name: 'too-big' });
      return p.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
    });
    expect(cond.reason).toBe('Unschedulable');
    expect(cond.message).toContain('nvidia.com/gpu');
  });

  it('runs a Job to completion: controller-manager creates the pod, kwok completes it', async () => {
    await batch.createNamespacedJob({
      namespace: ns,
      body: {
        metadata: { name: 'one-shot' },
        spec: {
          backoffLimit: 0,
          template: {
            metadata: {
              annotations: {
                'pod-complete.stage.kwok.x-k8s.io/delay': '0s',
                'pod-complete.stage.kwok.x-k8s.io/jitter-delay': '0s',
              },
            },
            spec: {
              restartPolicy: 'Never',
              tolerations: tolerate,
              containers: [{ name: 'train', image: 'trainer:1', resources: { limits: { 'nvidia.com/gpu': '1' } } }],
            },
          },
        },
      },
    });
    const job = await waitFor(
      'the Job to complete',
      async () => {
        const j = await batch.readNamespacedJob({ namespace: ns, name: 'one-shot' });
        return j.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True') ? j : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(job.status?.succeeded).toBe(1);
  });
});
