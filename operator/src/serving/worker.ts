/**
 * One model instance: an onnxruntime-node session in a worker thread. onnxruntime-node's `session.run` executes on
 * the calling JS thread, so inference lives here and the main thread keeps HTTP, batching and metrics responsive.
 * Messages: see worker-messages.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import { createSession } from '../onnx/session.ts';
import { lowerThreadPriority } from '../onnx/thread-priority.ts';
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

async function main(): Promise<void> {
  if (init.niceness > 0) lowerThreadPriority(init.niceness);
  let session: ort.InferenceSession;
  try {
    session = await createSession(init.modelPath, init.intraOpThreads);
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
