import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { freePort } from './support/net.ts';

/** What the integration tests get through `inject()`. */
export interface ClusterEnv {
  kubeconfig: string;
  kubectl: string;
  gcsEndpoint: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    cluster: ClusterEnv;
  }
}

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/**
 * Starts the local control plane once per run with hack/cluster-up.sh, which reuses a healthy running one.
 * The control plane is left running afterwards so the next run starts fast; `npm run cluster:down` stops it.
 *
 * With MLOPS_TEST_KUBECONFIG set, the tests use that cluster instead (never plain KUBECONFIG, which often names
 * a cluster nobody wants tests in) and only a private fake-gcs-server is started. Tests that need simulated
 * nodes expect kwok in that cluster.
 */
export default async function setup(project: TestProject): Promise<(() => void) | undefined> {
  const external = process.env.MLOPS_TEST_KUBECONFIG;
  if (external) return useExternalCluster(project, external);
  execFileSync('bash', ['hack/cluster-up.sh'], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'inherit'] });
  const env = parseEnvFile(readFileSync(clusterDir() + '/env', 'utf8'));
  const need = (k: string): string => {
    const v = env[k];
    if (!v) throw new Error(`hack/cluster-up.sh wrote no ${k} into ${clusterDir()}/env`);
    return v;
  };
  project.provide('cluster', {
    kubeconfig: need('KUBECONFIG'),
    kubectl: need('MLOPS_KUBECTL'),
    gcsEndpoint: need('MLOPS_GCS_ENDPOINT'),
  });
  return undefined;
}

async function useExternalCluster(project: TestProject, kubeconfig: string): Promise<() => void> {
  execFileSync('bash', ['hack/build-tools.sh'], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'inherit'] });
  const [k8sBin, , , gcsBin] = execFileSync('bash', ['hack/build-tools.sh', '--print'], { cwd: repoRoot })
    .toString()
    .trim()
    .split('\n');
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const gcs = spawn(
    `${gcsBin}/fake-gcs-server`,
    ['-scheme', 'http', '-host', '127.0.0.1', '-port', String(port), '-backend', 'memory'].concat([
      '-external-url',
      endpoint,
      '-public-host',
      `127.0.0.1:${port}`,
      '-log-level',
      'warn',
    ]),
    { stdio: 'ignore' },
  );
  const deadline = Date.now() + 30_000;
  for (;;) {
    const up = await fetch(`${endpoint}/storage/v1/b`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline) throw new Error(`fake-gcs-server did not start on ${endpoint}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  project.provide('cluster', { kubeconfig, kubectl: `${k8sBin}/kubectl`, gcsEndpoint: endpoint });
  return () => gcs.kill();
}

function clusterDir(): string {
  const out = execFileSync('bash', ['-c', 'source hack/lib.sh && echo "$CLUSTER_DIR"'], { cwd: repoRoot });
  return out.toString().trim();
}

function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) env[line.slice(0, i)] = line.slice(i + 1);
  }
  return env;
}
