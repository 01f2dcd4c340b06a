import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Prometheus metrics of the model server. Each Triton metric `nv_inference_X` has the counterpart `mlops_inference_X`
 * with the same meaning, type and unit (cumulative microseconds for durations), labelled `model` and `version`
 * (docs/adr/0022-model-server-metrics.md). Added: a request-duration histogram in seconds for p99 queries.
 */
export const METRIC_NAMES = {
  requestSuccess: 'mlops_inference_request_success',
  requestFailure: 'mlops_inference_request_failure',
  inferenceCount: 'mlops_inference_count',
  execCount: 'mlops_inference_exec_count',
  pendingRequests: 'mlops_inference_pending_request_count',
  requestDurationUs: 'mlops_inference_request_duration_us',
  queueDurationUs: 'mlops_inference_queue_duration_us',
  computeInputDurationUs: 'mlops_inference_compute_input_duration_us',
  computeInferDurationUs: 'mlops_inference_compute_infer_duration_us',
  computeOutputDurationUs: 'mlops_inference_compute_output_duration_us',
  requestDurationSeconds: 'mlops_inference_request_duration_seconds',
  modelReady: 'mlops_model_ready',
  modelLoadDurationSeconds: 'mlops_model_load_duration_seconds',
} as const;

/** Why a request failed, Triton's `reason` label values. */
export type FailureReason = 'REJECTED' | 'CANCELED' | 'BACKEND' | 'OTHER';

/** Buckets from 50 µs to 10 s, so that sub-millisecond p99s are resolvable. */
export const LATENCY_BUCKETS_SECONDS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** Per-request timings, nanoseconds. */
export interface RequestTimings {
  total: number;
  queue: number;
  computeInput: number;
  computeInfer: number;
  computeOutput: number;
}

export interface ServerMetrics {
  readonly registry: Registry;
  success(t: RequestTimings): void;
  failure(reason: FailureReason): void;
  /** One batch execution of `rows` inferences. */
  executed(rows: number): void;
  setReady(ready: boolean): void;
  setLoadSeconds(s: number): void;
}

export function createServerMetrics(opts: {
  model: string;
  version: string;
  pendingRequests: () => number;
  /** Adds prom-client's default process and Node.js metrics (CPU, RSS, event-loop lag). */
  defaultMetrics?: boolean;
}): ServerMetrics {
  const registry = new Registry();
  const labelNames = ['model', 'version'] as const;
  const labels = { model: opts.model, version: opts.version };
  // Hot-path counts accumulate in plain numbers and reach prom-client when scraped: a labelled inc() hashes its
  // labels on every call, and a request would pay that seven times.
  const acc = { success: 0, count: 0, exec: 0, reqUs: 0, queueUs: 0, inUs: 0, inferUs: 0, outUs: 0 };
  type Acc = keyof typeof acc;
  const counter = (name: string, help: string, key: Acc): Counter<'model' | 'version'> =>
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        const v = acc[key];
        if (v !== 0) {
          acc[key] = 0;
          this.inc(labels, v);
        }
      },
    });

  const success = counter(
    METRIC_NAMES.requestSuccess,
    'Number of successful inference requests, all batch sizes',
    'success',
  );
  const failure = new Counter({
    name: METRIC_NAMES.requestFailure,
    help: 'Number of failed inference requests, all batch sizes, by reason (REJECTED, CANCELED, BACKEND, OTHER)',
    labelNames: ['model', 'version', 'reason'] as const,
    registers: [registry],
  });
  const count = counter(METRIC_NAMES.inferenceCount, 'Number of inferences performed (a batch of n counts n)', 'count');
  const exec = counter(METRIC_NAMES.execCount, 'Number of model executions (batches) performed', 'exec');
  new Gauge({
    name: METRIC_NAMES.pendingRequests,
    help: 'Instantaneous number of inference requests waiting in the queue',
    labelNames,
    registers: [registry],
    collect() {
      this.set(labels, opts.pendingRequests());
    },
  });
  const reqUs = counter(
    METRIC_NAMES.requestDurationUs,
    'Cumulative inference request duration in microseconds',
    'reqUs',
  );
  const queueUs = counter(
    METRIC_NAMES.queueDurationUs,
    'Cumulative inference queuing duration in microseconds',
    'queueUs',
  );
  const inUs = counter(
    METRIC_NAMES.computeInputDurationUs,
    'Cumulative compute input duration in microseconds',
    'inUs',
  );
  const inferUs = counter(
    METRIC_NAMES.computeInferDurationUs,
    'Cumulative compute inference duration in microseconds',
    'inferUs',
  );
  const outUs = counter(
    METRIC_NAMES.computeOutputDurationUs,
    'Cumulative compute output duration in microseconds',
    'outUs',
  );
  const histogram = new Histogram({
    name: METRIC_NAMES.requestDurationSeconds,
    help: 'Duration of successful inference requests from arrival to response, in seconds',
    labelNames,
    buckets: LATENCY_BUCKETS_SECONDS,
    registers: [registry],
  });
  const ready = new Gauge({
    name: METRIC_NAMES.modelReady,
    help: '1 when the model is loaded, warmed up and serving',
    labelNames,
    registers: [registry],
  });
  const load = new Gauge({
    name: METRIC_NAMES.modelLoadDurationSeconds,
    help: 'Seconds from start-up to ready: download, verification, load and warm-up',
    labelNames,
    registers: [registry],
  });
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  ready.set(labels, 0);
  // Series exist from the start at 0, so that rate() and increase() see the first request.
  for (const c of [success, count, exec, reqUs, queueUs, inUs, inferUs, outUs]) c.inc(labels, 0);
  for (const reason of ['REJECTED', 'CANCELED', 'BACKEND', 'OTHER'] as const) failure.inc({ ...labels, reason }, 0);

  const hist = histogram.labels(labels);
  return {
    registry,
    success(t) {
      acc.success++;
      acc.reqUs += t.total / 1e3;
      acc.queueUs += t.queue / 1e3;
      acc.inUs += t.computeInput / 1e3;
      acc.inferUs += t.computeInfer / 1e3;
      acc.outUs += t.computeOutput / 1e3;
      hist.observe(t.total / 1e9);
    },
    failure(reason) {
      failure.inc({ ...labels, reason });
    },
    executed(rows) {
      acc.exec++;
      acc.count += rows;
    },
    setReady(r) {
      ready.set(labels, r ? 1 : 0);
    },
    setLoadSeconds(s) {
      load.set(labels, s);
    },
  };
}
