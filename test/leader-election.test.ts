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

const LEASE = { namespace: 'mlops-system', name: 'mlops-operator-leader' };
// Short timings so the test runs in seconds; the production defaults are 15 s / 10 s / 2 s.
const LEASE_S = 4;
const TIMINGS = [`--lease-duration=${LEASE_S}s`, '--renew-deadline=3s', '--retry-period=500ms'];

describe('leader election between two operator processes (ServiceAccount identity)', () => {
  const ns = uniqueName('le');
  const coord = kubeConfig().makeApiClient(k8s.CoordinationV1Api);
  const api = kubeConfig().makeApiClient(k8s.CustomObjectsApi);
  const ops: Record<string, OperatorProcess> = {};

  const holder = async (): Promise<string> => (await coord.readNamespacedLease(LEASE)).spec?.holderIdentity ?? '';
  const observed = async (name: string): Promise<boolean> => {
    const o = (await api.getNamespacedCustomObject({
      group: 'mlops.dev',
      version: 'v1alpha1',
      namespace: ns,
      plural: 'inferenceservices',
      name,
    })) as { metadata: { generation: number }; status?: { observedGeneration?: number } };
    return o.status?.observedGeneration === o.metadata.generation;
  };
  const createService = async (name: string) => {
    const r = await kubectl(['apply', '--server-side', '-f', '-'], JSON.stringify(sampleObjects(ns, name).isvc));
    expect(r.code, r.stderr).toBe(0);
  };

  beforeAll(async () => {
    await installManifests();
    expect((await kubectl(['create', 'namespace', ns])).code).toBe(0);
    // A lease left by an earlier run would only delay the first election by its duration.
    await kubectl(['delete', 'lease', LEASE.name, '-n', LEASE.namespace, '--ignore-not-found']);
    const kc = await operatorKubeconfig();
    for (const id of ['a', 'b']) {
      ops[id] = startOperator(
        [`--kubeconfig=${kc}`, `--namespaces=${ns}`, `--leader-election-identity=le-${id}`, ...TIMINGS],
        `op-${id}`,
      );
    }
  });

  afterAll(async () => {
    for (const op of Object.values(ops)) await stopOperator(op, 'SIGKILL');
    await kubectl(['delete', 'lease', LEASE.name, '-n', LEASE.namespace, '--ignore-not-found']);
    await kubectl(['delete', 'namespace', ns, '--wait=false']);
  });

  it('elects exactly one leader, and only the leader reconciles', async () => {
    const leader = await waitFor('a leader', async () => {
      const h = await holder().catch(() => '');
      return h === 'le-a' || h === 'le-b' ? h : undefined;
    });
    const leaderOp = ops[leader.slice(3)]!;
    const standbyOp = ops[leader === 'le-a' ? 'b' : 'a']!;
    await waitFor('leader gauge', async () =>
      (await leaderOp.metric('leader_election_master_status')) === 1 ? true : undefined,
    );
    expect(await standbyOp.metric('leader_election_master_status')).toBe(0);

    await createService('first');
    await waitFor('first observed', async () => ((await observed('first')) ? true : undefined));
    // The counter moves when the reconcile returns, a moment after its status write is visible.
    await waitFor('the leader to count the reconcile', async () =>
      (await leaderOp.metric('controller_runtime_reconcile_total', { controller: 'inferenceservice' })) > 0
        ? true
        : undefined,
    );
    expect(await standbyOp.metric('controller_runtime_reconcile_total', { controller: 'inferenceservice' })).toBe(0);
    // The standby's cache is warm and it is ready (it can take over without a cold start).
    expect((await fetch(`http://127.0.0.1:${await standbyOp.port}/readyz`)).status).toBe(200);
  });

  it('the standby takes over within the lease duration after the leader is SIGKILLed, then releases on SIGTERM', async () => {
    const leader = await holder();
    const leaderOp = ops[leader.slice(3)]!;
    const standbyId = leader === 'le-a' ? 'le-b' : 'le-a';
    const standbyOp = ops[standbyId.slice(3)]!;

    leaderOp.child.kill('SIGKILL');
    await leaderOp.exited;
    // The standby waits one lease duration from the last renewal it saw; it retries every 500 ms.
    // Bound: lease duration + one retry period + 1 s of slack for process and API latency.
    const took = await waitFor(
      'the standby to take the lease',
      async () => ((await holder()) === standbyId ? true : undefined),
      { timeoutMs: LEASE_S * 1000 + 500 + 1000, intervalMs: 100 },
    );
    expect(took).toBe(true);

    await createService('second');
    await waitFor('second observed by the new leader', async () => ((await observed('second')) ? true : undefined));

    // Graceful shutdown releases the lease: the holder is cleared so a successor need not wait.
    expect(await stopOperator(standbyOp, 'SIGTERM')).toBe(0);
    expect(standbyOp.hasLog('released the leader lease')).toBe(true);
    expect(await holder()).toBe('');
  });

  it('a leader whose lease is taken stops reconciling and exits non-zero after the renew deadline', async () => {
    const kc = await operatorKubeconfig();
    const op = startOperator(
      [`--kubeconfig=${kc}`, `--namespaces=${ns}`, '--leader-election-identity=le-c', ...TIMINGS],
      'op-c',
    );
    ops.c = op;
    await waitFor('le-c to lead', async () => ((await holder()) === 'le-c' ? true : undefined), {
      timeoutMs: LEASE_S * 1000 + 5000,
    });
    // Someone else takes the lease (as a partitioned leader would find on its return).
    const taken = await kubectl([
      'patch',
      'lease',
      LEASE.name,
      '-n',
      LEASE.namespace,
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { holderIdentity: 'intruder', leaseDurationSeconds: 60 } }),
    ]);
    expect(taken.code, taken.stderr).toBe(0);
    const code = await op.exited;
    expect(code).toBe(1);
    expect(op.hasLog('leader lease lost')).toBe(true);
    expect(await holder()).toBe('intruder');
  });
});
