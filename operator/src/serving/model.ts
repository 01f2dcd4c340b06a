import { Worker } from 'node:worker_threads';
import { datatypeOfOrt, ortTypeOf, type Tensor, type TensorMetadata } from './protocol.ts';
import type { WireTensor, WireValueMetadata, WorkerInit, WorkerRequest, WorkerResponse } from './worker-messages.ts';

/** The model cannot be served: unreadable file, not ONNX, or an input/output that OIP cannot carry. */
export class ModelLoadError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ModelLoadError';
  }
}

/** session.run failed inside a worker. */
export class BackendError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BackendError';
  }
}

export interface ModelSignature {
  inputs: TensorMetadata[];
  outputs: TensorMetadata[];
}

export interface ExecResult {
  outputs: Tensor[];
  /** hrtime ns around session.run in the worker. */
  started: number;
  ran: number;
}

/** worker.ts beside this module; .js in the built package, .ts when Node runs the sources. */
function workerUrl(): URL {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./worker${ext}`, import.meta.url);
}

function toMetadata(m: WireValueMetadata, kind: 'input' | 'output'): TensorMetadata {
  if (!m.isTensor) {
    throw new ModelLoadError(
      `model ${kind} "${m.name}" is not a tensor (a sequence or map, e.g. a scikit-learn ZipMap); convert the model with zipmap disabled`,
    );
  }
  const datatype = datatypeOfOrt(m.type ?? '');
  if (!datatype) throw new ModelLoadError(`model ${kind} "${m.name}" has type ${m.type}, which OIP cannot carry`);
  return { name: m.name, datatype, shape: (m.shape ?? []).map((d) => (typeof d === 'number' && d >= 0 ? d : -1)) };
}

interface Instance {
  worker: Worker;
  busy: boolean;
  pending: { id: number; resolve: (r: ExecResult) => void; reject: (e: Error) => void } | undefined;
}

/**
 * N model instances, each a worker thread with its own onnxruntime session, running one batch at a time
 * (Triton's instance_group on CPU). `run` requires a free instance; `onFree` fires whenever one becomes free.
 */
export class WorkerPool {
  readonly signature: ModelSignature;
  readonly #instances: Instance[];
  #nextId = 1;
  #closed = false;
  onFree: () => void = () => {};
  /** Called when a worker dies unexpectedly; the pool keeps serving with the rest. */
  onWorkerLost: (err: Error, remaining: number) => void = () => {};

  private constructor(signature: ModelSignature, workers: Worker[]) {
    this.signature = signature;
    this.#instances = workers.map((worker) => ({ worker, busy: false, pending: undefined }));
    for (const inst of this.#instances) this.#attach(inst);
  }

  /** Starts `workers` workers that each load `modelPath`; rejects with ModelLoadError if any cannot. */
  static async start(opts: {
    modelPath: string;
    workers: number;
    intraOpThreads: number;
    /** Nice value of the worker threads (Linux); 0 = the process's own. */
    niceness?: number;
  }): Promise<WorkerPool> {
    const init: WorkerInit = {
      modelPath: opts.modelPath,
      intraOpThreads: opts.intraOpThreads,
      niceness: opts.niceness ?? 0,
    };
    const started = Array.from({ length: opts.workers }, () => {
      const worker = new Worker(workerUrl(), { workerData: init });
      let detach = (): void => {};
      const loaded = new Promise<WorkerResponse>((resolve, reject) => {
        const onExit = (code: number): void => reject(new Error(`worker exited with code ${code} while loading`));
        worker.once('message', resolve);
        worker.once('error', reject);
        worker.once('exit', onExit);
        detach = () => {
          worker.off('message', resolve);
          worker.off('error', reject);
          worker.off('exit', onExit);
        };
      });
      return { worker, loaded, detach: () => detach() };
    });
    const workers = started.map((s) => s.worker);
    try {
      let signature: ModelSignature | undefined;
      for (const s of started) {
        const msg = await s.loaded;
        if (msg.kind === 'load-error') throw new ModelLoadError(`onnxruntime cannot load the model: ${msg.message}`);
        if (msg.kind !== 'loaded') throw new ModelLoadError(`unexpected message from a worker: ${msg.kind}`);
        signature ??= {
          inputs: msg.inputs.map((m) => toMetadata(m, 'input')),
          outputs: msg.outputs.map((m) => toMetadata(m, 'output')),
        };
      }
      for (const s of started) s.detach();
      return new WorkerPool(signature!, workers);
    } catch (err) {
      await Promise.all(workers.map((w) => w.terminate()));
      if (err instanceof ModelLoadError) throw err;
      throw new ModelLoadError(`a model worker failed: ${(err as Error).message}`, { cause: err });
    }
  }

  get size(): number {
    return this.#instances.length;
  }

  get free(): number {
    let n = 0;
    for (const i of this.#instances) if (!i.busy) n++;
    return this.#closed ? 0 : n;
  }

  get busy(): number {
    let n = 0;
    for (const i of this.#instances) if (i.busy) n++;
    return n;
  }

  /** Runs one batch on a free instance. Input typed-array buffers are transferred (unusable afterwards). */
  run(inputs: readonly Tensor[], outputs: readonly string[]): Promise<ExecResult> {
    const inst = this.#instances.find((i) => !i.busy);
    if (!inst || this.#closed) return Promise.reject(new BackendError('no free model instance'));
    inst.busy = true;
    const id = this.#nextId++;
    const wire: WireTensor[] = inputs.map((t) => ({
      name: t.name,
      type: ortTypeOf(t.datatype),
      dims: t.shape,
      data: t.data,
    }));
    const transfer: ArrayBuffer[] = [];
    for (const t of wire) {
      if (
        !Array.isArray(t.data) &&
        t.data.buffer instanceof ArrayBuffer &&
        t.data.byteLength === t.data.buffer.byteLength
      ) {
        if (!transfer.includes(t.data.buffer)) transfer.push(t.data.buffer);
      }
    }
    const msg: WorkerRequest = { id, inputs: wire, outputs: [...outputs] };
    return new Promise<ExecResult>((resolve, reject) => {
      inst.pending = { id, resolve, reject };
      inst.worker.postMessage(msg, transfer);
    });
  }

  #attach(inst: Instance): void {
    inst.worker.on('message', (msg: WorkerResponse) => {
      const p = inst.pending;
      if (!p || (msg.kind !== 'result' && msg.kind !== 'run-error') || msg.id !== p.id) return;
      inst.pending = undefined;
      inst.busy = false;
      if (msg.kind === 'result') {
        const outputs = msg.outputs.map((w) => fromWire(w, this.signature));
        p.resolve({ outputs, started: msg.started, ran: msg.ran });
      } else {
        p.reject(new BackendError(`inference failed: ${msg.message}`));
      }
      this.onFree();
    });
    const lost = (err: Error): void => {
      if (this.#closed) return;
      const idx = this.#instances.indexOf(inst);
      if (idx < 0) return;
      this.#instances.splice(idx, 1);
      inst.pending?.reject(new BackendError(`model worker died: ${err.message}`, { cause: err }));
      inst.pending = undefined;
      this.onWorkerLost(err, this.#instances.length);
    };
    inst.worker.on('error', lost);
    inst.worker.on('exit', (code) => lost(new Error(`worker exited with code ${code}`)));
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#instances.map((i) => i.worker.terminate()));
  }
}

function fromWire(w: WireTensor, sig: ModelSignature): Tensor {
  const meta = sig.outputs.find((m) => m.name === w.name);
  const datatype = meta?.datatype ?? datatypeOfOrt(w.type) ?? 'FP32';
  return { name: w.name, datatype, shape: w.dims, data: w.data };
}
