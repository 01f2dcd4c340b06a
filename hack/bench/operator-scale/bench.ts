/**
 * Operator scale benchmark against the shared local control plane (hack/cluster-up.sh), in a namespace of its
 * own that it deletes afterwards. For each size N (BENCH_SIZES, default "1000,5000") it:
 *  1. creates N InferenceServices, then starts the operator (a child process, --namespaces=<ns>);
 *  2. measures the time from the operator's start until every object shows status.observedGeneration;
 *  3. measures the operator's RSS and its CPU use over BENCH_IDLE_SECONDS (default 10) of idleness;
 *  4. makes BENCH_WRITES (default 200) spec changes one at a time and, through a bare watch opened by the
 *     bench, records for each: the raw watch delay (write -> the bench's watch sees the new generation) and the
 *     reconcile delay (write -> the bench's watch sees observedGeneration reach it, i.e. the operator's status
 *     write; this includes a second watch hop, so the floor is about twice the raw watch delay).
 * Prints a Markdown table and the ratios against the goals: RSS < 300 MB at 5,000 objects,
 * p99 reconcile delay <= 2 x p99 raw watch delay + 50 ms, idle CPU near zero.
 *   node hack/bench/operator-scale/bench.ts
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { freePort } from '../../../test/support/net.ts';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const SIZES = (process.env.BENCH_SIZES ?? '1000,5000').split(',').map(Number);
const WRITES = Number(process.env.BENCH_WRITES ?? 200);
const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 10);
/** V8 flags of the operator process; the default is the Deployment's (manifests/base/deployment.yaml). */
const OPERATOR_NODE_OPTIONS = process.env.BENCH_NODE_OPTIONS ?? '--max-old-space-size=192';
const CREATE_CONCURRENCY = 16;
const WAIT_LIMIT_MS = 600_000;
const GROUP = 'mlops.dev';
const VERSION = 'v1alpha1';
const PLURAL = 'inferenceservices';

const clusterDir = execFileSync('bash', ['-c', 'source hack/lib.sh && echo "$CLUSTER_DIR"'], { cwd: root })
  .toString()
  .trim();
const env = Object.fromEntries(
  readFileSync(join(clusterDir, 'env'), 'utf8')
    .split('\n')
    .filter((l) => l.includes('='))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
);
const kubeconfig = env.KUBECONFIG!;
const kc = new k8s.KubeConfig();
kc.loadFromFile(kubeconfig);
const core = kc.makeApiClient(k8s.CoreV1Api);
const custom = kc.makeApiClient(k8s.CustomObjectsApi);

interface Tracked {
  generation: number;
  observedGeneration: number | undefined;
}

/** A bare watch of the namespace's InferenceServices: the peer the operator is compared with. */
class BareWatch {
  readonly objects = new Map<string, Tracked>();
  readonly #waiters: { test: () => boolean; resolve: () => void }[] = [];
  #abort: AbortController | undefined;
  #stopped = false;
  readonly #ns: string;
  #rv = '';
  constructor(ns: string) {
    this.#ns = ns;
  }
  async start(): Promise<void> {
    const list = (await custom.listNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: this.#ns,
      plural: PLURAL,
    })) as {
      metadata: { resourceVersion: string };
      items: { metadata: { name: string; generation: number }; status?: { observedGeneration?: number } }[];
    };
    this.#rv = list.metadata.resourceVersion;
    for (const o of list.items) {
      this.objects.set(o.metadata.name, {
        generation: o.metadata.generation,
        observedGeneration: o.status?.observedGeneration,
      });
    }
    await this.#open();
  }
  async #open(): Promise<void> {
    if (this.#stopped) return;
    const w = new k8s.Watch(kc);
    this.#abort = await w.watch(
      `/apis/${GROUP}/${VERSION}/namespaces/${this.#ns}/${PLURAL}`,
      { resourceVersion: this.#rv, allowWatchBookmarks: true },
      (
        type: string,
        obj: {
          metadata: { name: string; generation: number; resourceVersion: string };
          status?: { observedGeneration?: number };
        },
      ) => {
        this.#rv = obj.metadata.resourceVersion;
        if (type === 'BOOKMARK') return;
        if (type === 'DELETED') this.objects.delete(obj.metadata.name);
        else
          this.objects.set(obj.metadata.name, {
            generation: obj.metadata.generation,
            observedGeneration: obj.status?.observedGeneration,
          });
        for (let i = this.#waiters.length - 1; i >= 0; i--) {
          const w = this.#waiters[i]!;
          if (w.test()) {
            this.#waiters.splice(i, 1);
            w.resolve();
          }
        }
      },
      () => void this.#open(),
    );
  }
  until(test: () => boolean, limitMs = WAIT_LIMIT_MS): Promise<void> {
    if (test()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('bench wait timed out')), limitMs);
      this.#waiters.push({ test, resolve: () => (clearTimeout(t), resolve()) });
    });
  }
  stop(): void {
    this.#stopped = true;
    this.#abort?.abort();
  }
}

function isvc(ns: string, name: string): object {
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'InferenceService',
    metadata: { name, namespace: ns },
    spec: { model: 'bench' },
  };
}

async function createAll(ns: string, n: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CREATE_CONCURRENCY }, async () => {
      while (next < n) {
        const i = next++;
        await custom.createNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace: ns,
          plural: PLURAL,
          body: isvc(ns, `o${i}`),
        });
      }
    }),
  );
}

async function metricValue(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name + ' ') || l.startsWith(name + '{'));
  return Number(line?.split(' ').pop() ?? NaN);
}

function rssMB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) / 1024;
}

/** utime + stime of a process, in seconds. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ is 100 on Linux
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Row {
  n: number;
  startToAllMs: number;
  rssMB: number;
  heapMB: number;
  idleCpuPct: number;
  raw: number[];
  rec: number[];
}

async function runSize(n: number): Promise<Row> {
  const ns = `bench-scale-${n}-${Date.now().toString(36)}`;
  await core.createNamespace({ body: { metadata: { name: ns } } });
  let child: ReturnType<typeof spawn> | undefined;
  const watch = new BareWatch(ns);
  try {
    const tc = Date.now();
    await createAll(ns, n);
    process.stderr.write(`[bench] created ${n} objects in ${Date.now() - tc} ms\n`);
    await watch.start();
    await watch.until(() => watch.objects.size === n);

    const metricsPort = await freePort();
    const t0 = performance.now();
    child = spawn(
      process.execPath,
      [
        'operator/src/cli/mlops-operator.ts',
        'operator',
        `--kubeconfig=${kubeconfig}`,
        `--namespaces=${ns}`,
        '--leader-elect=false',
        `--metrics-bind-address=127.0.0.1:${metricsPort}`,
        '--log-level=warn',
      ],
      {
        cwd: root,
        stdio: ['ignore', 'ignore', 'inherit'],
        env: { ...process.env, NODE_OPTIONS: OPERATOR_NODE_OPTIONS },
      },
    );
    const pid = child.pid!;
    const allObserved = () => [...watch.objects.values()].every((o) => o.observedGeneration === o.generation);
    await watch.until(() => watch.objects.size === n && allObserved());
    const startToAllMs = performance.now() - t0;
    process.stderr.write(`[bench] n=${n}: all reconciled ${startToAllMs.toFixed(0)} ms after start\n`);

    // Let the last status writes and the Events of the start burst settle, then measure idleness.
    await sleep(15_000);
    const c0 = cpuSeconds(pid);
    const w0 = performance.now();
    await sleep(IDLE_SECONDS * 1000);
    const idleCpuPct = ((cpuSeconds(pid) - c0) / ((performance.now() - w0) / 1000)) * 100;
    const rss = rssMB(pid);
    const heapMB = (await metricValue(metricsPort, 'nodejs_heap_size_used_bytes')) / 1024 / 1024;
    process.stderr.write(
      `[bench] n=${n}: RSS ${rss.toFixed(1)} MB, V8 heap used ${heapMB.toFixed(1)} MB, idle CPU ${idleCpuPct.toFixed(2)} %\n`,
    );

    const raw: number[] = [];
    const rec: number[] = [];
    for (let i = 0; i < WRITES; i++) {
      const name = `o${Math.floor(Math.random() * n)}`;
      const before = watch.objects.get(name)!.generation;
      const start = performance.now();
      let sawSpec = 0;
      const seen = watch
        .until(() => (watch.objects.get(name)?.generation ?? 0) > before, 30_000)
        .then(() => (sawSpec = performance.now()));
      const reconciled = watch.until(() => (watch.objects.get(name)?.observedGeneration ?? 0) > before, 30_000);
      await custom.patchNamespacedCustomObject(
        {
          group: GROUP,
          version: VERSION,
          namespace: ns,
          plural: PLURAL,
          name,
          body: { spec: { runtime: { replicas: 2 + (before % 500) } } },
        },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
      await seen;
      await reconciled;
      raw.push(sawSpec - start);
      rec.push(performance.now() - start);
      await sleep(10);
    }
    return { n, startToAllMs, rssMB: rss, heapMB, idleCpuPct, raw, rec };
  } finally {
    watch.stop();
    child?.kill('SIGTERM');
    await core.deleteNamespace({ name: ns }).catch(() => undefined);
  }
}

const rows: Row[] = [];
for (const n of SIZES) rows.push(await runSize(n));

const f = (x: number, d = 1) => x.toFixed(d);
console.log(
  `\nOperator scale (${WRITES} single writes per size; operator NODE_OPTIONS=${OPERATOR_NODE_OPTIONS}; node ${process.version}; ${new Date().toISOString()})\n`,
);
console.log(
  '| objects | start -> all reconciled | RSS (V8 heap used) | idle CPU | raw watch p50 / p99 | reconcile p50 / p99 | p50 ratio | p99 ratio | p99 goal (2 x raw + 50 ms) |',
);
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  const [rw50, rw99, rc50, rc99] = [pct(r.raw, 50), pct(r.raw, 99), pct(r.rec, 50), pct(r.rec, 99)];
  const goal = 2 * rw99 + 50;
  console.log(
    `| ${r.n} | ${f(r.startToAllMs / 1000, 2)} s | ${f(r.rssMB)} MB (${f(r.heapMB)} MB) | ${f(r.idleCpuPct, 2)} % | ${f(rw50)} / ${f(rw99)} ms | ${f(rc50)} / ${f(rc99)} ms | ${f(rc50 / rw50, 2)}x | ${f(rc99 / rw99, 2)}x | ${f(goal)} ms: ${rc99 <= goal ? 'met' : 'MISSED'} |`,
  );
}
const last = rows.find((r) => r.n === 5000);
if (last)
  console.log(`\nRSS at 5,000 objects: ${f(last.rssMB)} MB (goal < 300 MB: ${last.rssMB < 300 ? 'met' : 'MISSED'})`);
