/**
 * Serving benchmark: our model server (`mlops-operator serve`) against FastAPI + onnxruntime, an in-process
 * onnxruntime-node loop (compute ceiling) and a node:http echo server (HTTP/JSON ceiling), side by side in one run.
 * Servers are pinned to CPU 0 and every load generator to CPU 1 (taskset). Run through hack/bench/serving/run.sh.
 * Env: BENCH_SECONDS (measured seconds per point, default 8), BENCH_CPU_SERVER / BENCH_CPU_CLIENT (0 / 1),
 * BENCH_OUT (JSON results file, optional). Prints Markdown tables and the ratios against the goals.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { makeModels, type ModelFile } from '../../../test/fixtures/serving/models.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
const root = join(here, '..', '..', '..');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const WARMUP = 2;
const CONNS = 32;
const CPU_SERVER = process.env.BENCH_CPU_SERVER ?? '0';
const CPU_CLIENT = process.env.BENCH_CPU_CLIENT ?? '1';
const PYTHON = process.env.MLOPS_PYTHON ?? 'python3';
const work = mkdtempSync(join(tmpdir(), 'mlops-bench-serving-'));
const serveEntry = [join(root, 'operator/src/cli/mlops-operator.ts'), 'serve'];

type ModelKey = 'tabular' | 'mnist' | 'heavy';
const FEATURES: Record<ModelKey, number> = { tabular: 16, mnist: 784, heavy: 784 };
const OUT_ELEMENTS: Record<ModelKey, number> = { tabular: 2, mnist: 10, heavy: 10 };

function sh(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, { maxBuffer: 64 << 20 }, (err, out, errOut) =>
      err ? reject(new Error(`${cmd} ${args.join(' ')}: ${errOut || err.message}`)) : resolve(out),
    ),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Request bodies and wrk scripts

function features(model: ModelKey, seed = 1): number[] {
  return Array.from({ length: FEATURES[model] }, (_, i) => Math.round(Math.sin(seed * 7 + i) * 1e4) / 1e4);
}

function jsonBody(model: ModelKey): string {
  return JSON.stringify({
    inputs: [{ name: 'input', shape: [1, FEATURES[model]], datatype: 'FP32', data: features(model) }],
  });
}

function binaryBody(model: ModelKey): { body: Buffer; headerLength: number } {
  const head = Buffer.from(
    JSON.stringify({
      inputs: [
        {
          name: 'input',
          shape: [1, FEATURES[model]],
          datatype: 'FP32',
          parameters: { binary_data_size: FEATURES[model] * 4 },
        },
      ],
      parameters: { binary_data_output: true },
    }),
  );
  return {
    body: Buffer.concat([head, Buffer.from(Float32Array.from(features(model)).buffer)]),
    headerLength: head.length,
  };
}

function luaString(b: Buffer): string {
  let s = '"';
  for (const byte of b) s += `\\${byte}`;
  return s + '"';
}

function luaScript(name: string, body: Buffer, headers: Record<string, string>): string {
  const path = join(work, `${name}.lua`);
  const lines = ['wrk.method = "POST"', `wrk.body = ${luaString(body)}`];
  for (const [k, v] of Object.entries(headers)) lines.push(`wrk.headers["${k}"] = "${v}"`);
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

// ---------------------------------------------------------------------------------------------------------------
// Processes

interface Proc {
  child: ChildProcess;
  base: string;
  coldStartMs: number;
}

let nextPort = 18700;

async function waitReady(url: string, child: ChildProcess, limitMs = 60_000): Promise<void> {
  const until = performance.now() + limitMs;
  while (performance.now() < until) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode} before it was ready`);
    try {
      const r = await fetch(url);
      await r.arrayBuffer();
      if (r.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`${url} not ready within ${limitMs} ms`);
}

async function startServer(
  kind: 'ours' | 'fastapi' | 'echo',
  model: ModelKey,
  m: ModelFile,
  extra: string[] = [],
): Promise<Proc> {
  const port = nextPort++;
  let args: string[];
  if (kind === 'ours') {
    args = [
      process.execPath,
      ...serveEntry,
      '--model-name',
      model,
      '--model-uri',
      pathToFileURL(m.path).href,
      '--sha256',
      m.sha256,
      '--model-dir',
      join(work, 'models'),
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--log-level',
      'warn',
      ...extra,
    ];
  } else if (kind === 'fastapi') {
    args = [PYTHON, join(here, 'fastapi_server.py'), model, m.path, String(port)];
  } else {
    args = [process.execPath, join(here, 'echo-server.ts'), String(port), String(OUT_ELEMENTS[model])];
  }
  const t0 = performance.now();
  const child = spawn('taskset', ['-c', CPU_SERVER, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  const base = `http://127.0.0.1:${port}`;
  await waitReady(`${base}/v2/health/ready`, child);
  return { child, base, coldStartMs: performance.now() - t0 };
}

async function stop(p: Proc): Promise<void> {
  if (p.child.exitCode !== null) return;
  const exited = new Promise((r) => p.child.once('exit', r));
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Resident set of the server process (taskset execs it, so the pid is the server's). */
function rssMb(p: Proc): number {
  const status = readFileSync(`/proc/${p.child.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN) / 1024;
}

// ---------------------------------------------------------------------------------------------------------------
// Load generators

interface WrkResult {
  raw: string;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

function ms(v: string): number {
  const m = /([\d.]+)(us|ms|s)/.exec(v);
  if (!m) return NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1e3 : m[2] === 's' ? n * 1e3 : n;
}

async function wrk(url: string, lua: string, conns = CONNS, seconds = SECONDS): Promise<WrkResult> {
  const run = (d: number): Promise<string> =>
    sh('taskset', ['-c', CPU_CLIENT, 'wrk', '-t1', `-c${conns}`, `-d${d}s`, '--latency', '-s', lua, url]);
  await run(WARMUP);
  const out = await run(seconds);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const sockErrors = sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]),
    p50Ms: ms(/^\s*50%\s+(\S+)\s*$/m.exec(out)?.[1] ?? ''),
    p99Ms: ms(/^\s*99%\s+(\S+)\s*$/m.exec(out)?.[1] ?? ''),
    raw: out,
    errors: non2xx + sockErrors,
  };
}

interface RateResult {
  sent: number;
  ok: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  rate: number;
}

async function rate(url: string, perSecond: number, seconds: number, bodyFile?: string): Promise<RateResult> {
  const args = ['-c', CPU_CLIENT, process.execPath, join(here, 'rate.ts'), url, String(perSecond), String(seconds)];
  if (bodyFile) args.push(bodyFile);
  return JSON.parse(await sh('taskset', args)) as RateResult;
}

async function inProcess(
  m: ModelFile,
  model: ModelKey,
  seconds: number,
): Promise<Record<string, { runsPerSec: number; rowsPerSec: number }>> {
  const out = await sh('taskset', [
    '-c',
    CPU_SERVER,
    process.execPath,
    join(here, 'in-process.ts'),
    m.path,
    String(FEATURES[model]),
    String(seconds),
    '1',
    '32',
  ]);
  return JSON.parse(out) as Record<string, { runsPerSec: number; rowsPerSec: number }>;
}

async function scrape(p: Proc, name: string): Promise<number> {
  const text = await (await fetch(`${p.base}/metrics`)).text();
  const m = new RegExp(`^${name}\\{[^}]*\\} ([\\d.e+]+)$`, 'm').exec(text);
  return Number(m?.[1] ?? NaN);
}

// ---------------------------------------------------------------------------------------------------------------

const results: Record<string, unknown> = {};
const lines: string[] = [];
const out = (s = ''): void => {
  lines.push(s);
  process.stdout.write(s + '\n');
};
const f0 = (n: number): string => (Number.isFinite(n) ? n.toFixed(0) : 'n/a');
const f1 = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : 'n/a');
const f2 = (n: number): string => (Number.isFinite(n) ? n.toFixed(2) : 'n/a');

async function main(): Promise<void> {
  const models = await makeModels(['tabular', 'mnist', 'heavy']);
  const node = process.version;
  const cpu = cpus()[0]?.model ?? 'unknown';
  const pyVersions = (
    await sh(PYTHON, [
      '-c',
      'import sys,onnxruntime,fastapi,uvicorn,pydantic;print(sys.version.split()[0],onnxruntime.__version__,fastapi.__version__,uvicorn.__version__,pydantic.__version__)',
    ])
  ).trim();
  const ortNode = (
    JSON.parse(readFileSync(join(root, 'node_modules/onnxruntime-node/package.json'), 'utf8')) as { version: string }
  ).version;
  out(`## Serving benchmark run ${new Date().toISOString()}`);
  out();
  out(
    `- machine: ${availableParallelism()} CPUs (${cpu}); server pinned to CPU ${CPU_SERVER}, load generators to CPU ${CPU_CLIENT}`,
  );
  out(`- Node ${node}, onnxruntime-node ${ortNode}; Python/onnxruntime/fastapi/uvicorn/pydantic ${pyVersions}`);
  out(
    `- wrk -t1 -c${CONNS}, ${WARMUP} s warm-up then ${SECONDS} s measured per point; every server intra-op threads = 1`,
  );
  out(
    `- load average at start (other work on the machine): ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  out();

  const json = (m: ModelKey): string =>
    luaScript(`${m}-json`, Buffer.from(jsonBody(m)), { 'Content-Type': 'application/json' });
  const bin = (m: ModelKey): string => {
    const b = binaryBody(m);
    return luaScript(`${m}-bin`, b.body, {
      'Content-Type': 'application/octet-stream',
      'Inference-Header-Content-Length': String(b.headerLength),
    });
  };
  const infer = (p: Proc, m: ModelKey): string => `${p.base}/v2/models/${m}/infer`;

  const probesIdle: { system: string; r: RateResult }[] = [];
  // --- Ceiling: in-process onnxruntime-node
  const ceiling: Record<string, Record<string, { runsPerSec: number; rowsPerSec: number }>> = {};
  // Measured right before each model's servers (and for heavy again right after), because the load that other
  // work puts on the machine drifts over minutes; the ratio uses the higher of the two heavy ceilings.
  const measureCeiling = async (m: ModelKey): Promise<void> => {
    const c = await inProcess(models[m], m, 3);
    const prev = ceiling[m];
    if (!prev || c['32']!.rowsPerSec > prev['32']!.rowsPerSec) ceiling[m] = c;
  };

  // --- Probe baseline: the same probe against an idle server shows what the machine itself adds
  {
    const p = await startServer('ours', 'heavy', models.heavy);
    try {
      probesIdle.push({
        system: 'ours, idle (baseline)',
        r: await rate(`${p.base}/v2/health/ready`, 20, Math.max(1, SECONDS - 2)),
      });
    } finally {
      await stop(p);
    }
  }

  // --- Peak throughput per model and system
  interface Row {
    model: string;
    system: string;
    r: WrkResult;
    rss?: number;
    avgBatch?: number;
  }
  const peak: Row[] = [];
  const probes: { system: string; r: RateResult }[] = [];
  const run = async (
    model: ModelKey,
    system: string,
    kind: 'ours' | 'fastapi' | 'echo',
    lua: string,
    extra: string[] = [],
    probe = false,
    conns = CONNS,
  ): Promise<Row> => {
    const p = await startServer(kind, model, models[model], extra);
    try {
      const execBefore = kind === 'ours' ? await scrape(p, 'mlops_inference_exec_count') : 0;
      const countBefore = kind === 'ours' ? await scrape(p, 'mlops_inference_count') : 0;
      const [r, pr] = await Promise.all([
        wrk(infer(p, model), lua, conns),
        probe
          ? new Promise((res) => setTimeout(res, (WARMUP + 1) * 1e3)).then(() =>
              rate(`${p.base}/v2/health/ready`, 20, Math.max(1, SECONDS - 2)),
            )
          : undefined,
      ]);
      if (pr) probes.push({ system, r: pr });
      const row: Row = { model, system: conns === CONNS ? system : `${system}, c=${conns}`, r, rss: rssMb(p) };
      if (kind === 'ours') {
        const execs = (await scrape(p, 'mlops_inference_exec_count')) - execBefore;
        row.avgBatch = ((await scrape(p, 'mlops_inference_count')) - countBefore) / execs;
      }
      peak.push(row);
      process.stderr.write(`${model} ${system}: ${f0(r.rps)} req/s p99 ${f2(r.p99Ms)} ms\n`);
      return row;
    } finally {
      await stop(p);
    }
  };
  const off = ['--max-batch-size', '0'];
  await measureCeiling('tabular');
  const t = {
    ours: await run('tabular', 'ours (batching on)', 'ours', json('tabular')),
    oursOff: await run('tabular', 'ours (batching off)', 'ours', json('tabular'), off),
    py: await run('tabular', 'FastAPI + onnxruntime', 'fastapi', json('tabular')),
    echo: await run('tabular', 'node:http echo (no model)', 'echo', json('tabular')),
  };
  await measureCeiling('mnist');
  const mn = {
    ours: await run('mnist', 'ours JSON', 'ours', json('mnist')),
    oursBin: await run('mnist', 'ours binary tensors', 'ours', bin('mnist')),
    py: await run('mnist', 'FastAPI + onnxruntime', 'fastapi', json('mnist')),
    echo: await run('mnist', 'node:http echo (no model)', 'echo', json('mnist')),
  };
  await measureCeiling('heavy');
  const hv = {
    ours: await run('heavy', 'ours JSON (batching on)', 'ours', json('heavy'), [], true),
    oursBin: await run('heavy', 'ours binary (batching on)', 'ours', bin('heavy')),
    oursBin64: await run('heavy', 'ours binary (batching on)', 'ours', bin('heavy'), [], false, 64),
    oursOff: await run('heavy', 'ours JSON (batching off)', 'ours', json('heavy'), off, true),
    py: await run('heavy', 'FastAPI + onnxruntime', 'fastapi', json('heavy'), [], true),
  };
  await measureCeiling('heavy');
  results['inProcess'] = ceiling;
  results['peak'] = peak;
  results['probes'] = [...probesIdle, ...probes];

  // --- Low load: batching must cost nothing at concurrency 1
  const low: Row[] = [];
  for (const [system, extra] of [
    ['ours (batching on)', []],
    ['ours (batching off)', off],
  ] as const) {
    const p = await startServer('ours', 'tabular', models.tabular, [...extra]);
    try {
      low.push({ model: 'tabular', system, r: await wrk(infer(p, 'tabular'), json('tabular'), 1) });
    } finally {
      await stop(p);
    }
  }
  results['lowLoad'] = low;

  // --- Latency at equal offered load (open loop), as fractions of FastAPI's measured tabular peak
  const bodyFile = join(work, 'tabular.json');
  writeFileSync(bodyFile, jsonBody('tabular'));
  const equal: { system: string; offered: number; r: RateResult }[] = [];
  for (const frac of [0.5, 0.8]) {
    const offered = Math.round(t.py.r.rps * frac);
    for (const kind of ['ours', 'fastapi'] as const) {
      const p = await startServer(kind, 'tabular', models.tabular);
      try {
        await rate(infer(p, 'tabular'), offered, 2, bodyFile);
        equal.push({ system: kind, offered, r: await rate(infer(p, 'tabular'), offered, SECONDS, bodyFile) });
      } finally {
        await stop(p);
      }
    }
  }
  results['equalLoad'] = equal;

  // --- Cold start: spawn -> first 200 on /v2/health/ready (includes artifact copy + sha256, load, warm-up)
  const cold: { system: string; model: string; ms: number[] }[] = [];
  for (const model of ['tabular', 'heavy'] as const) {
    for (const kind of ['ours', 'fastapi'] as const) {
      const times: number[] = [];
      for (let i = 0; i < 3; i++) {
        const p = await startServer(kind, model, models[model]);
        times.push(p.coldStartMs);
        await stop(p);
      }
      cold.push({ system: kind, model, ms: times });
    }
  }
  results['coldStart'] = cold;

  // --- Report
  out(`### Peak throughput (closed loop, wrk c=${CONNS} unless noted)`);
  out();
  out('| model | system | req/s | p50 ms | p99 ms | errors | avg batch | RSS MB |');
  out('|---|---|---:|---:|---:|---:|---:|---:|');
  for (const r of peak) {
    out(
      `| ${r.model} | ${r.system} | ${f0(r.r.rps)} | ${f2(r.r.p50Ms)} | ${f2(r.r.p99Ms)} | ${r.r.errors} | ${r.avgBatch === undefined ? '' : f1(r.avgBatch)} | ${r.rss === undefined ? '' : f0(r.rss)} |`,
    );
  }
  out();
  out("### In-process onnxruntime-node ceiling (no HTTP; intra=1; measured next to each model's runs)");
  out();
  out('| model | batch 1 runs/s | batch 32 runs/s | batch 32 rows/s |');
  out('|---|---:|---:|---:|');
  for (const [m, c] of Object.entries(ceiling))
    out(`| ${m} | ${f0(c['1']!.runsPerSec)} | ${f0(c['32']!.runsPerSec)} | ${f0(c['32']!.rowsPerSec)} |`);
  out();
  out('### Latency at equal offered load (open loop, tabular JSON)');
  out();
  out('| offered req/s | system | achieved req/s | p50 ms | p99 ms | max ms | errors |');
  out('|---:|---|---:|---:|---:|---:|---:|');
  for (const e of equal)
    out(
      `| ${e.offered} | ${e.system} | ${f0(e.r.rate)} | ${f2(e.r.p50Ms)} | ${f2(e.r.p99Ms)} | ${f2(e.r.maxMs)} | ${e.r.errors} |`,
    );
  out();
  out('### Health probe under saturation (GET /v2/health/ready at 20/s during the heavy c=32 runs)');
  out();
  out('| system | probes | p50 ms | p99 ms | max ms |');
  out('|---|---:|---:|---:|---:|');
  for (const p of [...probesIdle, ...probes])
    out(`| ${p.system} | ${p.r.ok} | ${f2(p.r.p50Ms)} | ${f2(p.r.p99Ms)} | ${f2(p.r.maxMs)} |`);
  out();
  out('### Batching at low load (tabular, wrk c=1)');
  out();
  out('| system | req/s | p50 ms | p99 ms |');
  out('|---|---:|---:|---:|');
  for (const r of low) out(`| ${r.system} | ${f0(r.r.rps)} | ${f2(r.r.p50Ms)} | ${f2(r.r.p99Ms)} |`);
  out();
  out('### Cold start (spawn to ready, 3 runs)');
  out();
  out('| model | system | ms (each run) |');
  out('|---|---|---|');
  for (const c of cold) out(`| ${c.model} | ${c.system} | ${c.ms.map(f0).join(', ')} |`);
  out();

  const heavyCeil = ceiling['heavy']!['32']!.rowsPerSec;
  const eq = (sys: string, i: number): RateResult => equal.filter((e) => e.system === sys)[i]!.r;
  const oursProbe = probes.find((p) => p.system.startsWith('ours JSON (batching on)'))!.r;
  const goals: [string, string, boolean][] = [
    [
      `tabular JSON throughput, ours / FastAPI (goal >= 3)`,
      f2(t.ours.r.rps / t.py.r.rps),
      t.ours.r.rps / t.py.r.rps >= 3,
    ],
    [
      `MNIST JSON throughput, ours / FastAPI (goal >= 2)`,
      f2(mn.ours.r.rps / mn.py.r.rps),
      mn.ours.r.rps / mn.py.r.rps >= 2,
    ],
    [
      `heavy rows/s with batching, ours JSON / in-process batch 32 (goal >= 0.9)`,
      f2(hv.ours.r.rps / heavyCeil),
      hv.ours.r.rps / heavyCeil >= 0.9,
    ],
    [
      `heavy rows/s with batching, ours binary / in-process batch 32 (goal >= 0.9)`,
      f2(hv.oursBin.r.rps / heavyCeil),
      hv.oursBin.r.rps / heavyCeil >= 0.9,
    ],
    [
      `heavy rows/s with batching, ours binary c=64 / in-process batch 32 (goal >= 0.9)`,
      f2(hv.oursBin64.r.rps / heavyCeil),
      hv.oursBin64.r.rps / heavyCeil >= 0.9,
    ],
    [
      `p99 at 50% of FastAPI peak, FastAPI / ours (goal > 1)`,
      f2(eq('fastapi', 0).p99Ms / eq('ours', 0).p99Ms),
      eq('fastapi', 0).p99Ms > eq('ours', 0).p99Ms,
    ],
    [
      `p99 at 80% of FastAPI peak, FastAPI / ours (goal > 1)`,
      f2(eq('fastapi', 1).p99Ms / eq('ours', 1).p99Ms),
      eq('fastapi', 1).p99Ms > eq('ours', 1).p99Ms,
    ],
    [`probe p99 under saturation, ours, ms (goal < 10)`, f2(oursProbe.p99Ms), oursProbe.p99Ms < 10],
  ];
  out('### Ratios');
  out();
  out('| ratio | value | goal met |');
  out('|---|---:|---|');
  for (const [name, v, okGoal] of goals) out(`| ${name} | ${v} | ${okGoal ? 'yes' : 'NO'} |`);
  out(`| tabular: ours / node:http echo (HTTP+JSON ceiling) | ${f2(t.ours.r.rps / t.echo.r.rps)} | |`);
  out(`| tabular: batching on / off | ${f2(t.ours.r.rps / t.oursOff.r.rps)} | |`);
  out(`| heavy: batching on / off | ${f2(hv.ours.r.rps / hv.oursOff.r.rps)} | |`);
  out(`| heavy: ours (batching off) / FastAPI | ${f2(hv.oursOff.r.rps / hv.py.r.rps)} | |`);
  out(`| heavy: ours (batching on) / FastAPI | ${f2(hv.ours.r.rps / hv.py.r.rps)} | |`);
  out(`| MNIST: binary / JSON | ${f2(mn.oursBin.r.rps / mn.ours.r.rps)} | |`);
  out(`| MNIST: ours JSON / echo | ${f2(mn.ours.r.rps / mn.echo.r.rps)} | |`);
  out(`| low load p50, batching on - off (ms) | ${f2(low[0]!.r.p50Ms - low[1]!.r.p50Ms)} | |`);
  out(
    `- load average at end: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  if (process.env.BENCH_OUT) writeFileSync(process.env.BENCH_OUT, JSON.stringify({ results, report: lines }, null, 2));
}

await main();
