/**
 * Reads and parses the eval set in its own thread, ahead of the scoring worker, so parsing and inference overlap:
 * an evaluation then runs at the speed of the slower of the two, not their sum. Flow control: at most `ahead`
 * batches are in flight; the consumer returns one credit per batch it has scored, so memory stays bounded.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { readBatches, type Cell, type DatasetFormat } from './dataset.ts';
import { EvaluationError } from './errors.ts';
import { lowerThreadPriority } from '../onnx/thread-priority.ts';

export interface ReaderJob {
  path: string;
  format: DatasetFormat;
  batchSize: number;
  columns: string[];
  numericColumns: string[];
  ahead: number;
}

export type ReaderMessage =
  | { kind: 'batch'; length: number; columns: Array<[string, ArrayLike<Cell>]> }
  | { kind: 'end' }
  | { kind: 'error'; reason?: EvaluationError['reason']; message: string };

const job = workerData as ReaderJob;
lowerThreadPriority();
const port = parentPort!;
let credits = job.ahead;
let wake: (() => void) | undefined;
/** Column buffers the consumer has scored and sent back, filled again instead of allocating new ones. */
const pool: Float64Array[] = [];
port.on('message', (returned: ArrayBuffer[]) => {
  credits++;
  for (const b of returned) pool.push(new Float64Array(b));
  wake?.();
});

async function main(): Promise<void> {
  const batches = readBatches(job.path, job.format, {
    batchSize: job.batchSize,
    columns: job.columns,
    numericColumns: new Set(job.numericColumns),
    pool,
  });
  for await (const batch of batches) {
    while (credits === 0) await new Promise<void>((r) => (wake = r));
    credits--;
    const columns = [...batch.columns.entries()];
    const transfer = columns
      .map(([, c]) => c)
      .filter(
        (c): c is Float64Array =>
          c instanceof Float64Array && c.byteOffset === 0 && c.byteLength === c.buffer.byteLength,
      )
      .map((c) => c.buffer as ArrayBuffer);
    port.postMessage({ kind: 'batch', length: batch.length, columns } satisfies ReaderMessage, transfer);
  }
  port.postMessage({ kind: 'end' } satisfies ReaderMessage);
}

main().catch((err: unknown) => {
  const msg: ReaderMessage =
    err instanceof EvaluationError
      ? { kind: 'error', reason: err.reason, message: err.message }
      : { kind: 'error', message: err instanceof Error ? err.message : String(err) };
  port.postMessage(msg);
});
