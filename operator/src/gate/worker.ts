/**
 * One evaluation, off the operator's event loop: onnxruntime-node's `session.run` executes on the calling JS
 * thread. Reads the eval set batch by batch, scores every model on each batch (the same rows, one pass) and
 * accumulates metrics. Started by evaluator.ts; messages in worker-messages.ts.
 */
import { parentPort, Worker, workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import { readColumnNames, type Batch, type Cell } from './dataset.ts';
import { EvaluationError } from './errors.ts';
import { createSession } from '../onnx/session.ts';
import { lowerThreadPriority } from '../onnx/thread-priority.ts';
import {
  buildFeeds,
  planFeeds,
  planOutputs,
  toNumber,
  type FeedPlan,
  type OutputPlan,
  type ValueInfo,
} from './mapping.ts';
import { ClassificationAccumulator, labelKey, METRICS, RegressionAccumulator } from './metrics.ts';
import type { ReaderJob, ReaderMessage } from './reader-worker.ts';
import type { EvaluationJob, ModelScores, WorkerReply } from './worker-messages.ts';

const job = workerData as EvaluationJob;
lowerThreadPriority();
const port = parentPort!;

interface Scored {
  role: 'candidate' | 'baseline';
  session: ort.InferenceSession;
  feeds: FeedPlan;
  outputs: OutputPlan;
  classification?: ClassificationAccumulator;
  regression?: RegressionAccumulator;
  /** Input arrays reused from batch to batch. */
  scratch: Map<string, Float32Array | Float64Array>;
}

const describe = (m: ort.InferenceSession.ValueMetadata): ValueInfo =>
  m.isTensor ? { name: m.name, isTensor: true, type: m.type, shape: [...m.shape] } : { name: m.name, isTensor: false };

async function main(): Promise<void> {
  const tasks = new Set(job.metrics.map((m) => METRICS[m].task));
  if (tasks.size !== 1) {
    throw new EvaluationError(
      'InvalidEvaluationSpec',
      `metrics mix classification and regression: ${job.metrics.join(', ')}`,
    );
  }
  const task = [...tasks][0]!;
  const needProbabilities = job.metrics.some((m) => METRICS[m].needsProbabilities);
  const keepScores = job.metrics.includes('roc_auc');
  const { path, format, label, features } = job.dataset;
  const columns = await readColumnNames(path, format);
  if (!columns.includes(label)) {
    throw new EvaluationError(
      'MissingColumn',
      `label column "${label}" is not in the dataset (columns: ${columns.join(', ')})`,
    );
  }

  const models: Scored[] = [];
  for (const m of job.models) {
    let session: ort.InferenceSession;
    try {
      session = await createSession(m.path, job.intraOpThreads);
    } catch (err) {
      throw tagged(
        new EvaluationError('InvalidModel', `the ${m.role} is not a loadable ONNX model: ${(err as Error).message}`),
        m.role,
      );
    }
    try {
      const s: Scored = {
        role: m.role,
        session,
        feeds: planFeeds(session.inputMetadata.map(describe), columns, label, features),
        scratch: new Map(),
        outputs: planOutputs(session.outputMetadata.map(describe), task, needProbabilities, job.dataset.output),
      };
      if (task === 'classification') s.classification = new ClassificationAccumulator({ keepScores });
      else s.regression = new RegressionAccumulator();
      models.push(s);
    } catch (err) {
      throw tagged(err, m.role);
    }
  }

  const needed = new Set<string>([label]);
  // Read as numbers while scanning: the float/int inputs (the label may be text, e.g. yes/no).
  const numeric = new Set<string>();
  for (const m of models) {
    if (m.feeds.kind === 'matrix') m.feeds.features.forEach((f) => (needed.add(f), numeric.add(f)));
    else {
      for (const i of m.feeds.inputs) {
        needed.add(i.column);
        if (i.type !== 'string' && i.type !== 'bool') numeric.add(i.column);
      }
    }
  }

  let examples = 0;
  let lastProgress = 0;
  for await (const batch of readAhead({
    path,
    format,
    batchSize: job.batchSize,
    columns: [...needed],
    numericColumns: [...numeric],
    ahead: 4,
  })) {
    const labels = batch.columns.get(label)!;
    const truthKeys = task === 'classification' ? classificationTruth(labels, examples) : undefined;
    const truthValues = task === 'regression' ? regressionTruth(labels, examples) : undefined;
    for (const m of models) {
      try {
        await score(m, batch, examples, truthKeys, truthValues);
      } catch (err) {
        throw tagged(err, m.role);
      }
    }
    examples += batch.length;
    if (examples - lastProgress >= 100_000) {
      lastProgress = examples;
      port.postMessage({ kind: 'progress', examples } satisfies WorkerReply);
    }
  }

  if (examples === 0) throw new EvaluationError('EmptyDataset', 'the eval set has no rows');
  const scores: ModelScores[] = models.map((m) => ({
    role: m.role,
    ...(m.classification ? m.classification.compute(job.metrics) : m.regression!.compute(job.metrics)),
  }));
  port.postMessage({ kind: 'done', examples, scores } satisfies WorkerReply);
}

/** Batches parsed by reader-worker.ts in another thread, while this one scores the previous ones. */
async function* readAhead(reader: ReaderJob): AsyncGenerator<Batch> {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  const w = new Worker(new URL(`./reader-worker${ext}`, import.meta.url), { workerData: reader });
  const inbox: ReaderMessage[] = [];
  let wake: (() => void) | undefined;
  let crashed: Error | undefined;
  w.on('message', (m: ReaderMessage) => {
    inbox.push(m);
    wake?.();
  });
  w.on('error', (err: Error) => {
    crashed = err;
    wake?.();
  });
  w.on('exit', () => {
    crashed ??= new Error('the reader thread exited');
    wake?.();
  });
  try {
    for (;;) {
      while (inbox.length === 0) {
        if (crashed) throw crashed;
        await new Promise<void>((r) => (wake = r));
      }
      const m = inbox.shift()!;
      if (m.kind === 'end') return;
      if (m.kind === 'error') {
        throw m.reason ? new EvaluationError(m.reason, m.message) : new Error(m.message);
      }
      yield { length: m.length, columns: new Map<string, ArrayLike<Cell>>(m.columns) };
      // The batch is scored: hand its column buffers back with the credit.
      const buffers = m.columns
        .map(([, c]) => c)
        .filter((c): c is Float64Array => c instanceof Float64Array && c.length === reader.batchSize)
        .map((c) => c.buffer as ArrayBuffer);
      w.postMessage(buffers, buffers);
    }
  } finally {
    w.removeAllListeners('exit');
    await w.terminate();
  }
}

function classificationTruth(labels: ArrayLike<unknown>, firstRow: number): string[] {
  const out = new Array<string>(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const k = labelKey(labels[i]);
    if (k === undefined) throw new EvaluationError('InvalidData', `the label is empty in row ${firstRow + i + 1}`);
    out[i] = k;
  }
  return out;
}

function regressionTruth(labels: ArrayLike<unknown>, firstRow: number): Float64Array {
  const out = new Float64Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const v = toNumber(labels[i] as string, 'label', firstRow + i);
    if (!Number.isFinite(v))
      throw new EvaluationError('InvalidData', `the label is empty or not finite in row ${firstRow + i + 1}`);
    out[i] = v;
  }
  return out;
}

async function score(
  m: Scored,
  batch: Batch,
  firstRow: number,
  truthKeys: string[] | undefined,
  truthValues: Float64Array | undefined,
): Promise<void> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const [name, t] of Object.entries(buildFeeds(m.feeds, batch, firstRow, m.scratch))) {
    feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
  }
  const fetches =
    m.outputs.task === 'regression'
      ? [m.outputs.prediction]
      : [m.outputs.label, m.outputs.probabilities ?? ''].filter((x) => x);
  let out: ort.InferenceSession.OnnxValueMapType;
  try {
    out = await m.session.run(feeds, fetches);
  } catch (err) {
    throw new EvaluationError(
      'InputMismatch',
      `inference failed on rows ${firstRow + 1}-${firstRow + batch.length}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  const n = batch.length;
  if (m.outputs.task === 'regression') {
    const pred = out[m.outputs.prediction]!;
    const data = pred.data as Float32Array | Float64Array;
    if (data.length !== n) {
      throw new EvaluationError(
        'OutputMismatch',
        `output "${m.outputs.prediction}" has ${data.length} values for ${n} rows`,
      );
    }
    checkFinite(data, m.outputs.prediction, firstRow, 1);
    m.regression!.add(truthValues!, data);
    return;
  }
  const plan = m.outputs;
  let predicted: string[] | undefined;
  if (plan.label) {
    const t = out[plan.label]!;
    const data = t.data as ArrayLike<unknown>;
    if (data.length !== n)
      throw new EvaluationError('OutputMismatch', `output "${plan.label}" has ${data.length} values for ${n} rows`);
    predicted = new Array<string>(n);
    for (let i = 0; i < n; i++) {
      const k = labelKey(data[i]);
      if (k === undefined)
        throw new EvaluationError('InvalidPrediction', `the model predicted no label for row ${firstRow + i + 1}`);
      predicted[i] = k;
    }
  }
  let probabilities: Float32Array | Float64Array | undefined;
  let width: number | undefined;
  if (plan.probabilities) {
    const t = out[plan.probabilities]!;
    probabilities = t.data as Float32Array | Float64Array;
    width = t.dims[1] ?? 0;
    if (t.dims.length !== 2 || t.dims[0] !== n) {
      throw new EvaluationError(
        'OutputMismatch',
        `output "${plan.probabilities}" has shape [${t.dims.join(', ')}] for ${n} rows`,
      );
    }
    checkFinite(probabilities, plan.probabilities, firstRow, width);
  }
  const add: Parameters<ClassificationAccumulator['add']>[0] = { truth: truthKeys! };
  if (predicted) add.predicted = predicted;
  if (probabilities) {
    add.probabilities = probabilities;
    add.width = width!;
  }
  m.classification!.add(add);
}

function checkFinite(data: Float32Array | Float64Array, output: string, firstRow: number, width: number): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) {
      const row = firstRow + Math.floor(i / Math.max(1, width)) + 1;
      throw new EvaluationError('InvalidPrediction', `the model output "${output}" is ${data[i]} for row ${row}`);
    }
  }
}

function tagged(err: unknown, role: 'candidate' | 'baseline'): unknown {
  if (err instanceof EvaluationError) err.role ??= role;
  return err;
}

main().catch((err: unknown) => {
  const reply: WorkerReply =
    err instanceof EvaluationError
      ? {
          kind: 'failed',
          reason: err.reason,
          message: err.message,
          ...(err.role ? { role: err.role } : {}),
        }
      : { kind: 'failed', reason: 'InvalidData', message: (err as Error).message ?? String(err) };
  port.postMessage(reply);
});
