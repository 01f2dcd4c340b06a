import type { DatasetFormat } from './dataset.ts';
import type { EvaluationFailureReason } from './errors.ts';
import type { MetricName, MetricValues } from './metrics.ts';

/** What the evaluation worker is started with (workerData). */
export interface EvaluationJob {
  /** Local paths of verified ONNX files: the candidate first, then the baseline if there is one. */
  models: Array<{ role: 'candidate' | 'baseline'; path: string }>;
  dataset: { path: string; format: DatasetFormat; label: string; features?: string[]; output?: string };
  metrics: MetricName[];
  /** Rows per inference batch. */
  batchSize: number;
  /** onnxruntime intra-op threads per session. */
  intraOpThreads: number;
}

export interface ModelScores extends MetricValues {
  role: 'candidate' | 'baseline';
}

export type WorkerReply =
  | { kind: 'progress'; examples: number }
  | { kind: 'done'; examples: number; scores: ModelScores[] }
  | { kind: 'failed'; reason: EvaluationFailureReason; message: string; role?: 'candidate' | 'baseline' };
