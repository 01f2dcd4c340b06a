import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { waitFor } from './support/cluster.ts';
import type { OperatorProcess } from './support/operator.ts';
import { sampleObjects, startOperator, stopOperator } from './support/operator.ts';
import { freePort } from './support/net.ts';

const execFileAsync = promisify(execFile);
const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/**
 * A second, private control plane (hack/cluster-up.sh with its own directory and ports), so this test can kill
 * and restart an API server without disturbing the shared one that other tests use.
 */
describe('the operator loses no change when its API server is killed and restarted mid-watch', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlops-restart-'));
  const env: Record<string, string> = { MLOPS_CLUSTER_DIR: dir };
  const kubeconfig = join(dir, 'kubeconfig');
  const ns = 'restart';
  let op: OperatorProcess | undefined;

  const kubectl = async (args: string[], input?: string) => {
    const child = execFileAsync(inject('cluster').kubectl, [`--kubeconfig=${kubeconfig}`, ...args]);
    if (input !== undefined) child.child.stdin?.end(input);
    try {
      return { code: 0, ...(await child) };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: e.code ?? 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  };
  const observedAll = async (names: string[]): Promise<boolean> => {
    const r = await kubectl(['get', 'inferenceservices', '-n', ns, '-o', 'json']);
    if (r.code !== 0) return false;
    const items = (
      JSON.parse(r.stdout) as {
        items: { metadata: { name: string; generation: number }; status?: { observedGeneration?: number } }[];
      }
    ).items;
    const byName = new Map(items.map((o) => [o.metadata.name, o]));
    return names.every((n) => {
      const o = byName.get(n);
      return o !== undefined && o.status?.observedGeneration === o.metadata.generation;
    });
  };
  const apiserverPid = () => Number(readFileSync(join(dir, 'pids', 'kube-apiserver'), 'utf8').trim());

  beforeAll(async () => {
    for (const k of [
      'APISERVER_PORT',
      'ETCD_CLIENT_PORT',
      'ETCD_PEER_PORT',
      'KCM_PORT',
      'SCHEDULER_PORT',
      'FAKE_GCS_PORT',
    ]) {
      env[k] = String(await freePort());
    }
    await execFileAsync('bash', ['hack/cluster-up.sh'], { cwd: repoRoot, env: { ...process.env, ...env } });
    const crds = await kubectl(['apply', '--server-side', '-k', 'crds']);
    expect(crds.code, crds.stderr).toBe(0);
    await kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/inferenceservices.mlops.dev']);
    expect((await kubectl(['create', 'namespace', ns])).code).toBe(0);
  });

  afterAll(async () => {
    if (op) await stopOperator(op, 'SIGKILL');
    await execFileAsync('bash', ['hack/cluster-down.sh', '--purge', '--quiet'], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
    });
  });

  it('reconciles objects created and changed while its watch was broken', async () => {
    const t0 = Date.now();
    const step = (what: string) => process.stderr.write(`[restart-test +${Date.now() - t0} ms] ${what}\n`);
    op = startOperator([`--kubeconfig=${kubeconfig}`, `--namespaces=${ns}`, '--leader-elect=false'], 'op-restart');
    const apply = async (name: string, extra: Record<string, unknown> = {}) => {
      const obj = sampleObjects(ns, name).isvc;
      const r = await kubectl(
        ['apply', '--server-side', '-f', '-'],
        JSON.stringify({ ...obj, spec: { ...(obj.spec as object), ...extra } }),
      );
      expect(r.code, r.stderr).toBe(0);
    };
    const before = ['a1', 'a2', 'a3'];
    for (const n of before) await apply(n);
    await waitFor('the first objects observed', async () => ((await observedAll(before)) ? true : undefined));

    step('first objects observed');
    // Kill the API server (no graceful close of the watch), then start it again with the same command line.
    const pid = apiserverPid();
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      .split('\0')
      .filter((s) => s !== '');
    const informer = `inferenceservices/${ns}`;
    const failuresBefore = op.logs.filter(
      (l) => l.informer === informer && l.msg === 'informer failed; restarting',
    ).length;
    process.kill(pid, 'SIGKILL');
    // SIGKILL is asynchronous: the old process holds its port until it is gone.
    await waitFor('the old API server to exit', () => Promise.resolve(existsSync(`/proc/${pid}`) ? undefined : true), {
      timeoutMs: 30_000,
      intervalMs: 50,
    });
    await waitFor(
      'the operator to notice',
      () =>
        Promise.resolve(
          op!.logs.filter((l) => l.informer === informer && l.msg === 'informer failed; restarting').length >
            failuresBefore
            ? true
            : undefined,
        ),
      { timeoutMs: 60_000 },
    );
    step('operator noticed; restarting the API server');
    const log = openSync(join(dir, 'logs', 'kube-apiserver.log'), 'a');
    const restarted = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', log, log] });
    restarted.unref();
    writeFileSync(join(dir, 'pids', 'kube-apiserver'), `${restarted.pid}\n`);
    await waitFor(
      'the API server to be ready again',
      async () => ((await kubectl(['get', '--raw=/readyz'])).code === 0 ? true : undefined),
      { timeoutMs: 60_000, intervalMs: 250 },
    );

    step('API server ready again');
    // Changes made at once, while the operator is still backing off: new objects, and spec changes of old ones.
    const after = ['b1', 'b2', 'b3'];
    for (const n of after) await apply(n);
    for (const n of before) await apply(n, { promotion: 'Manual' });
    await waitFor(
      'every change observed',
      async () => ((await observedAll([...before, ...after])) ? true : undefined),
      { timeoutMs: 60_000 },
    );
    step('every change observed');
    expect(op.hasLog('informer recovered')).toBe(true);
    expect(await op.metric('mlops_informer_restarts_total', { informer: `inferenceservices/${ns}` })).toBeGreaterThan(
      0,
    );
    expect(await stopOperator(op, 'SIGTERM')).toBe(0);
    op = undefined;
  }, 300_000);
});
