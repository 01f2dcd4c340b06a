import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { inject } from 'vitest';
import { kubectl } from './cluster.ts';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** A minimal valid object of each kind, for tests that only need the operator to see it. */
export function sampleObjects(namespace: string, name: string): Record<'tp' | 'mv' | 'isvc', Record<string, unknown>> {
  const evaluation = {
    dataset: { uri: 'gs://bucket/eval.csv', format: 'csv', label: 'y' },
    metrics: [{ name: 'auc', min: 0.5 }],
  };
  return {
    tp: {
      apiVersion: 'mlops.dev/v1alpha1',
      kind: 'TrainingPipeline',
      metadata: { name, namespace },
      spec: {
        model: name,
        data: { uri: 'gs://bucket/data/' },
        training: { image: 'trainer:1' },
        artifacts: { uri: 'gs://bucket/runs/' },
        evaluation,
      },
    },
    mv: {
      apiVersion: 'mlops.dev/v1alpha1',
      kind: 'ModelVersion',
      metadata: { name: `${name}-v1`, namespace, labels: { 'mlops.dev/model': name } },
      spec: {
        model: name,
        version: 1,
        artifact: { uri: 'gs://bucket/runs/1/model.onnx', format: 'onnx', sha256: 'a'.repeat(64) },
        evaluation,
      },
    },
    isvc: {
      apiVersion: 'mlops.dev/v1alpha1',
      kind: 'InferenceService',
      metadata: { name, namespace },
      spec: { model: name },
    },
  };
}

/**
 * Writes a kubeconfig that authenticates as `serviceAccount` with `token` (from `kubectl create token`), for
 * the API server of `adminKubeconfig`. Returns its path.
 */
export function writeTokenKubeconfig(adminKubeconfig: string, token: string, user: string): string {
  const admin = new k8s.KubeConfig();
  admin.loadFromFile(adminKubeconfig);
  const cluster = admin.getCurrentCluster();
  if (!cluster) throw new Error(`no current cluster in ${adminKubeconfig}`);
  const kc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'c', cluster: { server: cluster.server, 'certificate-authority-data': caData(cluster) } }],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: 'c', context: { cluster: 'c', user } }],
    'current-context': 'c',
  };
  const dir = mkdtempSync(join(tmpdir(), 'mlops-sa-'));
  const path = join(dir, 'kubeconfig');
  writeFileSync(path, JSON.stringify(kc), { mode: 0o600 });
  return path;
}

function caData(cluster: k8s.Cluster): string {
  if (cluster.caData) return cluster.caData;
  if (cluster.caFile) return readFileSync(cluster.caFile).toString('base64');
  throw new Error('the admin kubeconfig has no CA');
}

export interface OperatorProcess {
  child: ChildProcess;
  /** Every JSON log line so far. */
  logs: Record<string, unknown>[];
  /** Resolves with the metrics port once the operator has bound it. */
  port: Promise<number>;
  exited: Promise<number | null>;
  metrics(): Promise<string>;
  /** Sum of the samples of `name` whose label set contains every `labels` pair. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  hasLog(msg: string): boolean;
}

/** Starts `node operator/src/cli/mlops-operator.ts operator <args>` with JSON logs captured. */
export function startOperator(args: string[], name = 'operator'): OperatorProcess {
  const child = spawn(
    process.execPath,
    ['operator/src/cli/mlops-operator.ts', 'operator', '--metrics-bind-address=127.0.0.1:0', ...args],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KUBECONFIG: '' } },
  );
  const logs: Record<string, unknown>[] = [];
  let resolvePort!: (p: number) => void;
  const port = new Promise<number>((r) => (resolvePort = r));
  let buf = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buf += chunk.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        if (entry.msg === 'serving metrics and health probes' && typeof entry.port === 'number')
          resolvePort(entry.port);
      } catch {
        logs.push({ msg: line });
      }
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => process.stderr.write(`[${name}] ${chunk.toString()}`));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const metrics = async (): Promise<string> => (await fetch(`http://127.0.0.1:${await port}/metrics`)).text();
  return {
    child,
    logs,
    port,
    exited,
    metrics,
    async metric(metricName, labels = {}) {
      let sum = 0;
      for (const line of (await metrics()).split('\n')) {
        if (!line.startsWith(metricName + '{') && !line.startsWith(metricName + ' ')) continue;
        if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
          sum += Number(line.split(' ').pop());
      }
      return sum;
    },
    hasLog: (msg) => logs.some((l) => l.msg === msg),
  };
}

/** Stops an operator with `signal` and waits for it to exit; returns its exit code. */
export async function stopOperator(op: OperatorProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (op.child.exitCode !== null || op.child.signalCode !== null) return op.child.exitCode;
  op.child.kill(signal);
  return op.exited;
}

/** A kubeconfig for the operator's ServiceAccount (least privilege), from a TokenRequest. */
export async function operatorKubeconfig(): Promise<string> {
  const token = await kubectl(['create', 'token', 'mlops-operator', '-n', 'mlops-system', '--duration=1h']);
  if (token.code !== 0) throw new Error(`kubectl create token failed: ${token.stderr}`);
  return writeTokenKubeconfig(inject('cluster').kubeconfig, token.stdout.trim(), 'mlops-operator');
}

/** Installs the operator's manifests (CRDs, namespace, RBAC, ...) with server-side apply. */
export async function installManifests(): Promise<void> {
  const applied = await kubectl(['apply', '--server-side', '--force-conflicts', '-k', 'manifests/base']);
  if (applied.code !== 0) throw new Error(`kubectl apply -k manifests/base failed: ${applied.stderr}`);
  for (const plural of ['trainingpipelines', 'modelversions', 'inferenceservices']) {
    const est = await kubectl(['wait', '--for=condition=Established', '--timeout=60s', `crd/${plural}.mlops.dev`]);
    if (est.code !== 0) throw new Error(`CRD ${plural} not established: ${est.stderr}`);
  }
}
