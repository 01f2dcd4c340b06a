/**
 * One model instance: an onnxruntime-node session in a worker thread. onnxruntime-node's `session.run` executes on
 * the calling JS thread, so inference lives here and the main thread keeps HTTP, batching and metrics responsive.
 * Messages: see worker-messages.ts.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import type { WireTensor, WireValueMetadata, WorkerInit, WorkerRequest, WorkerResponse } from './worker-messages.ts';

const init = workerData as WorkerInit;
const port = parentPort!;

const now = (): number => Number(process.hrtime.bigint());

function transferables(tensors: readonly WireTensor[]): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const t of tensors) {
    if (!Array.isArray(t.data) && t.data.buffer instanceof ArrayBuffer && !out.includes(t.data.buffer)) {
      out.push(t.data.buffer);
    }
  }
  return out;
}

/**
 * Lowers this thread's scheduling priority. On Linux a nice value is per thread: setpriority() on the thread id
 * affects only this thread, and threads it creates afterwards (onnxruntime's intra-op pool) inherit it.
 */
function lowerPriority(niceness: number): void {
  if (niceness <= 0) return;
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, niceness);
  } catch {
    // No /proc (not Linux) or not permitted: run at the process's priority.
  }
}

async function main(): Promise<void> {
  lowerPriority(init.niceness);
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(init.modelPath, {
      intraOpNumThreads: init.intraOpThreads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
    });
  } catch (err) {
    const msg: WorkerResponse = { kind: 'load-error', message: (err as Error).message };
    port.postMessage(msg);
    return;
  }
  const describe = (m: ort.InferenceSession.ValueMetadata): WireValueMetadata =>
    m.isTensor
      ? { name: m.name, isTensor: true, type: m.type, shape: [...m.shape] }
      : { name: m.name, isTensor: false };
  const loaded: WorkerResponse = {
    kind: 'loaded',
    inputs: session.inputMetadata.map(describe),
    outputs: session.outputMetadata.map(describe),
  };
  port.postMessage(loaded);

  port.on('message', (req: WorkerRequest) => {
    void run(session, req);
  });
}

async function run(session: ort.InferenceSession, req: WorkerRequest): Promise<void> {
  let reply: WorkerResponse;
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const t of req.inputs) feeds[t.name] = new ort.Tensor(t.type as 'float32', t.data as Float32Array, t.dims);
    const started = now();
    const results = await session.run(feeds, req.outputs);
    const ran = now();
    const outputs: WireTensor[] = req.outputs.map((name) => {
      const r = results[name]!;
      return { name, type: r.type, dims: [...r.dims], data: r.data };
    });
    reply = { kind: 'result', id: req.id, outputs, started, ran };
    port.postMessage(reply, transferables(outputs));
  } catch (err) {
    reply = { kind: 'run-error', id: req.id, message: (err as Error).message };
    port.postMessage(reply);
  }
}

void main();
