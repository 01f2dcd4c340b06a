/**
 * Evaluation-gate benchmark. Prints, against a peer measured in the same run:
 *  1. rows/s of a full evaluation (CSV read + parse in a reader thread, onnxruntime-node in the evaluation worker,
 *     accuracy + roc_auc + log_loss) vs in-process onnxruntime-node batch inference on the same model and rows
 *     already in memory (the peer does no I/O and no parsing); goal >= 0.8.
 *  2. the operator process's largest event-loop delay during that evaluation (perf_hooks); goal < 20 ms.
 *  3. peak RSS of a fresh process evaluating a ~1 GB CSV (generated into a temp dir, deleted after); goal < 300 MB.
 *
 * usage: node hack/bench/gate/bench.ts [--model rf|mlp] [--rows 300000] [--csv-mb 1024] [--batch 4096]
 *        [--threads 1] [--runs 3] [--built]   (needs `source hack/python-env.sh` for the model; --built: `npm run build` first)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import { runEvaluation } from '../../../operator/src/gate/evaluator.ts';
import { FEATURES, writeCsv } from './common.ts';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: 'rf' },
    rows: { type: 'string', default: '300000' },
    'csv-mb': { type: 'string', default: '1024' },
    batch: { type: 'string', default: '4096' },
    threads: { type: 'string', default: '1' },
    runs: { type: 'string', default: '3' },
    /** Also measure the RSS of the build (run `npm run build` first): dist/operator/src/gate/evaluator.js. */
    built: { type: 'boolean', default: false },
  },
});
const rows = Number(args.rows);
const batch = Number(args.batch);
const threads = Number(args.threads);
const runs = Number(args.runs);
const python = process.env.MLOPS_PYTHON;
if (!python) throw new Error('source hack/python-env.sh first (MLOPS_PYTHON)');
const here = new URL('.', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'mlops-gate-bench-'));
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

try {
  const model = join(dir, 'model.onnx');
  execFileSync(python, [join(here, 'make-model.py'), model, args.model], { stdio: 'inherit' });
  const csv = join(dir, 'eval.csv');
  await writeCsv(csv, { rows });

  // The rows in memory, for the peer (not timed).
  const lines = readFileSync(csv, 'utf8').trimEnd().split('\n').slice(1);
  const X = new Float32Array(lines.length * 20);
  lines.forEach((l, i) =>
    l
      .split(',')
      .slice(0, 20)
      .forEach((v, j) => (X[i * 20 + j] = Number(v))),
  );

  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const peer = async (): Promise<number> => {
    const t0 = performance.now();
    for (let i = 0; i < lines.length; i += batch) {
      const k = Math.min(batch, lines.length - i);
      await session.run({ input: new ort.Tensor('float32', X.subarray(i * 20, (i + k) * 20), [k, 20]) });
    }
    return lines.length / ((performance.now() - t0) / 1000);
  };
  const gate = async (): Promise<{ rps: number; maxMs: number; p99Ms: number }> => {
    const h = monitorEventLoopDelay({ resolution: 1 });
    h.enable();
    const t0 = performance.now();
    const res = await runEvaluation({
      models: [{ role: 'candidate', path: model }],
      dataset: { path: csv, format: 'csv', label: 'y', features: FEATURES },
      metrics: ['accuracy', 'roc_auc', 'log_loss'],
      batchSize: batch,
      intraOpThreads: threads,
    });
    const s = (performance.now() - t0) / 1000;
    h.disable();
    return { rps: res.examples / s, maxMs: h.max / 1e6, p99Ms: h.percentile(99) / 1e6 };
  };
  // Control: the same measurement with nothing running, for the delay the machine itself adds (load, scheduling).
  const idle = monitorEventLoopDelay({ resolution: 1 });
  idle.enable();
  await new Promise((r) => setTimeout(r, 5000));
  idle.disable();
  await peer(); // warm-up
  const peers: number[] = [];
  const gates: Array<{ rps: number; maxMs: number; p99Ms: number }> = [];
  for (let r = 0; r < runs; r++) {
    peers.push(await peer());
    gates.push(await gate());
  }
  const peerRps = median(peers);
  const gateRps = median(gates.map((g) => g.rps));
  console.log(
    `model ${args.model}, ${lines.length} rows x 20 features, batch ${batch}, intra-op threads ${threads}, ${runs} runs (median)`,
  );
  console.log(`  in-process onnxruntime-node batch inference (peer): ${Math.round(peerRps)} rows/s`);
  console.log(`  full gate evaluation (read+parse+infer+metrics):    ${Math.round(gateRps)} rows/s`);
  // Each gate run sits next to a peer run: the median of the pairwise ratios resists the machine's drift.
  const ratios = gates.map((g, i) => g.rps / peers[i]!);
  console.log(
    `  ratio gate/peer: median ${median(ratios).toFixed(2)} of pairwise ${ratios.map((r) => r.toFixed(2)).join(', ')} (goal >= 0.8)`,
  );
  console.log(
    `  operator event-loop delay during evaluations: max ${Math.max(...gates.map((g) => g.maxMs)).toFixed(1)} ms, p99 ${Math.max(...gates.map((g) => g.p99Ms)).toFixed(1)} ms (goal max < 20 ms); idle control over 5 s: max ${(idle.max / 1e6).toFixed(1)} ms`,
  );
  console.log(
    `  load average at the end: ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')} on ${availableParallelism()} CPUs`,
  );
  rmSync(csv);

  const mb = Number(args['csv-mb']);
  if (mb > 0) {
    const big = join(dir, 'big.csv');
    const n = await writeCsv(big, { bytes: mb * 1024 * 1024 });
    const size = statSync(big).size;
    const variants: Array<[string, string[]]> = [['sources (.ts, type stripping)', []]];
    if (args.built) variants.push(['build (dist/*.js)', [join(here, '../../../dist/operator/src/gate/evaluator.js')]]);
    for (const [what, extra] of variants) {
      const out = execFileSync(
        process.execPath,
        [join(here, 'rss-child.ts'), model, big, String(batch), String(threads), ...extra],
        { encoding: 'utf8' },
      );
      const r = JSON.parse(out.trim().split('\n').pop()!) as Record<string, number>;
      console.log(
        `  ${(size / 1024 ** 3).toFixed(2)} GiB CSV (${n} rows), fresh process, ${what}: peak RSS ${r.maxRssMb!.toFixed(0)} MB (goal < 300 MB), ${Math.round(r.rowsPerSecond!)} rows/s, event-loop delay max ${r.eventLoopDelayMaxMs!.toFixed(1)} ms`,
      );
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
