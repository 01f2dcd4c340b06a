/**
 * One full evaluation in a fresh process, for its peak RSS: node rss-child.ts MODEL CSV BATCH THREADS [EVALUATOR].
 * Prints one JSON line: rows, seconds, maxRssMb, event-loop delay max/p99 (ms).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { runEvaluation as RunEvaluation } from '../../../operator/src/gate/evaluator.ts';
import { FEATURES } from './common.ts';

const [model, csv, batch, threads, evaluatorModule] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string?,
];
// The sources by default (how `npm run operator` runs); pass dist/operator/src/gate/evaluator.js for the build.
const { runEvaluation } = (await import(evaluatorModule ?? '../../../operator/src/gate/evaluator.ts')) as {
  runEvaluation: typeof RunEvaluation;
};
const h = monitorEventLoopDelay({ resolution: 1 });
h.enable();
const t0 = performance.now();
const res = await runEvaluation(
  {
    models: [{ role: 'candidate', path: model }],
    dataset: { path: csv, format: 'csv', label: 'y', features: FEATURES },
    metrics: ['accuracy', 'roc_auc', 'log_loss'],
    batchSize: Number(batch),
    intraOpThreads: Number(threads),
  },
  { maxHeapMb: 512 },
);
const seconds = (performance.now() - t0) / 1000;
h.disable();
console.log(
  JSON.stringify({
    rows: res.examples,
    seconds,
    rowsPerSecond: res.examples / seconds,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    eventLoopDelayMaxMs: h.max / 1e6,
    eventLoopDelayP99Ms: h.percentile(99) / 1e6,
    auc: res.candidate.values.roc_auc,
  }),
);
