/** Messages between the main thread and the inference worker threads (worker.ts). */

/** `workerData` of a worker. */
export interface WorkerInit {
  modelPath: string;
  intraOpThreads: number;
  /** Nice value for this thread (and the onnxruntime threads it creates), so HTTP and probes win the CPU. */
  niceness: number;
}

/** A tensor as it crosses the thread boundary: onnxruntime type names and dims; typed-array buffers are transferred. */
export interface WireTensor {
  name: string;
  type: string;
  dims: number[];
  data:
    | Float32Array
    | Float64Array
    | Int8Array
    | Int16Array
    | Int32Array
    | BigInt64Array
    | Uint8Array
    | Uint16Array
    | Uint32Array
    | BigUint64Array
    | string[];
}

export interface WireValueMetadata {
  name: string;
  isTensor: boolean;
  type?: string;
  shape?: (number | string)[];
}

export interface WorkerRequest {
  id: number;
  inputs: WireTensor[];
  /** Output names to compute. */
  outputs: string[];
}

export type WorkerResponse =
  | { kind: 'loaded'; inputs: WireValueMetadata[]; outputs: WireValueMetadata[] }
  | { kind: 'load-error'; message: string }
  /** `started`/`ran`: process.hrtime in ns around session.run (the clock is shared by all threads). */
  | { kind: 'result'; id: number; outputs: WireTensor[]; started: number; ran: number }
  | { kind: 'run-error'; id: number; message: string };
