import { Worker } from 'node:worker_threads';
import { EvaluationError } from './errors.ts';
import type { EvaluationJob, ModelScores, WorkerReply } from './worker-messages.ts';

export interface EvaluationResult {
  examples: number;
  candidate: ModelScores;
  baseline?: ModelScores;
}

/** Under Node's type stripping this module runs as .ts and so must its worker; built, both are .js. */
function workerUrl(): URL {
  return new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url);
}

export interface RunOptions {
  signal?: AbortSignal;
  /** Called now and then with the rows scored so far. */
  onProgress?: (examples: number) => void;
  /** V8 heap limit of the worker in MiB (default 256); data beyond it is a failed evaluation, not a dead operator. */
  maxHeapMb?: number;
}

/**
 * Scores the candidate (and the baseline, on the same rows in the same pass) in a worker thread, so the operator's
 * event loop stays free. Rejects with EvaluationError for anything a retry cannot fix; other rejections (the
 * worker crashed, e.g. out of memory) are unexpected failures.
 */
export function runEvaluation(job: EvaluationJob, options: RunOptions = {}): Promise<EvaluationResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(workerUrl(), {
      workerData: job,
      resourceLimits: { maxOldGenerationSizeMb: options.maxHeapMb ?? 256 },
    });
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      fn();
      void worker.terminate();
    };
    const onAbort = (): void =>
      finish(() => reject(new Error('evaluation aborted', { cause: options.signal?.reason })));
    if (options.signal?.aborted) {
      onAbort();
      return;
    }
    options.signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (msg: WorkerReply) => {
      switch (msg.kind) {
        case 'progress':
          options.onProgress?.(msg.examples);
          break;
        case 'failed': {
          const who = msg.role === 'baseline' ? 'baseline: ' : '';
          const err = new EvaluationError(msg.reason, who + msg.message);
          err.role = msg.role;
          finish(() => reject(err));
          break;
        }
        case 'done': {
          const candidate = msg.scores.find((s) => s.role === 'candidate');
          const baseline = msg.scores.find((s) => s.role === 'baseline');
          if (!candidate) {
            finish(() => reject(new Error('the evaluation worker returned no candidate scores')));
            break;
          }
          const result: EvaluationResult = { examples: msg.examples, candidate };
          if (baseline) result.baseline = baseline;
          finish(() => resolve(result));
          break;
        }
      }
    });
    worker.on('error', (err) => finish(() => reject(new Error('the evaluation worker failed', { cause: err }))));
    worker.on('exit', (code) =>
      finish(() => reject(new Error(`the evaluation worker exited with code ${code} before finishing`))),
    );
  });
}
