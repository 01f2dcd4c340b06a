import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

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
 */
export default function setup(project: TestProject): void {
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
