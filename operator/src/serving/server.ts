import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { concatTensors, DynamicBatcher, splitTensor, type Batchable, type BatchingConfig } from './batcher.ts';
import { createServerMetrics, type FailureReason, type ServerMetrics } from './metrics.ts';
import { BackendError, WorkerPool, type ExecResult, type ModelSignature } from './model.ts';
import {
  allocate,
  decodeInferObject,
  decodeInferRequest,
  elementCount,
  encodeInferResponse,
  InvalidInputError,
  toNested,
  type DecodedRequest,
  type Tensor,
  type TensorMetadata,
} from './protocol.ts';

export const SERVER_NAME = 'mlops-operator';
/** OIP extensions this server implements, as `GET /v2` lists them. */
export const EXTENSIONS = ['binary_tensor_data'];
export const PLATFORM = 'onnx_onnxv1';

export interface ModelServerOptions {
  modelName: string;
  modelVersion: string;
  /** Requested batching; maxBatchSize drops to 0 when the model has no variable leading dimension. */
  batching: BatchingConfig;
  maxQueueSize: number;
  workers: number;
  intraOpThreads: number;
  /** Nice value of the inference threads (Linux), so HTTP, probes and metrics preempt inference; 0 = off. */
  workerNiceness?: number;
  maxBodyBytes: number;
  /** After shutdown() begins, the longest wait for in-flight requests before connections are cut. */
  drainTimeoutMs: number;
  logger: Logger;
  /** Makes the model available locally (download, sha256 check) and returns its path. */
  prepare: () => Promise<string>;
  serverVersion?: string;
  /** prom-client default process metrics; off in tests that build several servers in one process. */
  defaultMetrics?: boolean;
  /** Monotonic nanoseconds; injectable for tests. */
  now?: () => number;
}

export type ServerState = 'loading' | 'ready' | 'failed' | 'draining' | 'stopped';

/** Answered with `{"error": message}` and `status`. */
class HttpError extends Error {
  readonly status: number;
  readonly reason: FailureReason | undefined;
  constructor(status: number, message: string, reason?: FailureReason) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.reason = reason;
  }
}

interface Pending extends Batchable {
  request: DecodedRequest;
  resolve: (r: Completed) => void;
  reject: (e: Error) => void;
}

interface Completed {
  outputs: Tensor[];
  enqueuedAt: number;
  dispatchedAt: number;
  exec: ExecResult;
}

const JSON_TYPE = 'application/json';
const LIVE_BODY = '{"live":true}';
const READY_BODY = '{"ready":true}';
const hrnow = (): number => Number(process.hrtime.bigint());

/**
 * The model server: Open Inference Protocol v2 REST (with the binary tensor data extension), KServe v1 `:predict`,
 * and Prometheus `/metrics`, all on one port. HTTP, validation, batching and metrics run on the main thread;
 * inference runs in a WorkerPool, so health probes never wait behind a model execution.
 */
export class ModelServer {
  readonly http: Server;
  readonly metrics: ServerMetrics;
  readonly #opts: ModelServerOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  #state: ServerState = 'loading';
  #reason = 'the model is loading';
  #pool: WorkerPool | undefined;
  #signature: ModelSignature | undefined;
  #batching: BatchingConfig;
  #batcher: DynamicBatcher<Pending> | undefined;
  #inFlight = 0;
  #idleWaiters: (() => void)[] = [];
  #shutdown: Promise<void> | undefined;
  #metadataBody = '';
  #modelReadyBody = '';

  constructor(opts: ModelServerOptions) {
    this.#opts = opts;
    this.#log = opts.logger;
    this.#now = opts.now ?? hrnow;
    this.#batching = opts.batching;
    this.metrics = createServerMetrics({
      model: opts.modelName,
      version: opts.modelVersion,
      pendingRequests: () => this.#batcher?.size ?? 0,
      ...(opts.defaultMetrics !== undefined ? { defaultMetrics: opts.defaultMetrics } : {}),
    });
    this.http = createServer({ keepAliveTimeout: 65_000 }, (req, res) => this.#handle(req, res));
  }

  get state(): ServerState {
    return this.#state;
  }

  /** Why the server is not ready (load failure, loading, draining). */
  get reason(): string {
    return this.#reason;
  }

  /** The batching in effect once loaded. */
  get batching(): BatchingConfig {
    return this.#batching;
  }

  get signature(): ModelSignature | undefined {
    return this.#signature;
  }

  /** Starts listening; liveness answers at once, readiness once load() succeeds. */
  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(port, host, () => {
        this.http.off('error', reject);
        resolve(this.http.address() as AddressInfo);
      });
    });
  }

  /**
   * Prepares the artifact, starts the workers, warms every worker up at batch size 1 and maxBatchSize, then turns
   * ready. Never throws: a failure leaves the server not ready, with the reason in /v2/health/ready and the log.
   */
  async load(): Promise<boolean> {
    const t0 = performance.now();
    try {
      const path = await this.#opts.prepare();
      const pool = await WorkerPool.start({
        modelPath: path,
        workers: this.#opts.workers,
        intraOpThreads: this.#opts.intraOpThreads,
        niceness: this.#opts.workerNiceness ?? 0,
      });
      this.#pool = pool;
      this.#signature = pool.signature;
      this.#batching = effectiveBatching(this.#opts.batching, pool.signature, this.#log);
      await this.#warmUp(pool);
      if (this.#state !== 'loading') return false;
      this.#batcher = new DynamicBatcher<Pending>({
        config: this.#batching,
        maxQueueSize: this.#opts.maxQueueSize,
        now: this.#now,
        schedule: (ms, fn) => {
          const t = setTimeout(fn, ms);
          return () => clearTimeout(t);
        },
        freeInstances: () => pool.free,
        dispatch: (batch) => this.#dispatch(pool, batch),
      });
      pool.onFree = () => this.#batcher?.pump();
      pool.onWorkerLost = (err, remaining) => {
        this.#log.error({ err, remaining }, 'model worker lost');
        if (remaining === 0) this.#fail('every model worker has died');
      };
      this.#cacheBodies(pool.signature);
      this.#state = 'ready';
      this.#reason = '';
      const seconds = (performance.now() - t0) / 1e3;
      this.metrics.setReady(true);
      this.metrics.setLoadSeconds(seconds);
      this.#log.info(
        {
          seconds,
          workers: pool.size,
          intraOpThreads: this.#opts.intraOpThreads,
          maxBatchSize: this.#batching.maxBatchSize,
          inputs: pool.signature.inputs,
          outputs: pool.signature.outputs,
        },
        'model ready',
      );
      return true;
    } catch (err) {
      this.#fail(
        `model ${this.#opts.modelName} version ${this.#opts.modelVersion} failed to load: ${(err as Error).message}`,
      );
      this.#log.error({ err }, 'model load failed; the server stays not ready');
      return false;
    }
  }

  #fail(reason: string): void {
    if (this.#state === 'draining' || this.#state === 'stopped') return;
    this.#state = 'failed';
    this.#reason = reason;
    this.metrics.setReady(false);
  }

  async #warmUp(pool: WorkerPool): Promise<void> {
    const sizes = this.#batching.maxBatchSize > 1 ? [1, this.#batching.maxBatchSize] : [1];
    const names = pool.signature.outputs.map((o) => o.name);
    for (const rows of sizes) {
      await Promise.all(
        Array.from({ length: pool.size }, () => pool.run(warmUpInputs(pool.signature.inputs, rows), names)),
      );
    }
  }

  #cacheBodies(sig: ModelSignature): void {
    this.#metadataBody = JSON.stringify({
      name: this.#opts.modelName,
      versions: [this.#opts.modelVersion],
      platform: PLATFORM,
      inputs: sig.inputs,
      outputs: sig.outputs,
    });
    this.#modelReadyBody = JSON.stringify({ name: this.#opts.modelName, ready: true });
  }

  /**
   * Stops readiness and new connections, waits (at most drainTimeoutMs) until every accepted request has been
   * answered, then closes connections and workers. Idempotent.
   */
  shutdown(): Promise<void> {
    this.#shutdown ??= this.#drain();
    return this.#shutdown;
  }

  async #drain(): Promise<void> {
    const wasLoading = this.#state === 'loading';
    this.#state = 'draining';
    this.#reason = 'the server is shutting down';
    this.metrics.setReady(false);
    this.http.close();
    this.http.closeIdleConnections();
    if (!wasLoading && this.#inFlight > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((r) => this.#idleWaiters.push(r)),
        new Promise<void>((r) => {
          timer = setTimeout(r, this.#opts.drainTimeoutMs);
        }),
      ]);
      clearTimeout(timer);
    }
    const left = this.#inFlight;
    if (left > 0) this.#log.warn({ inFlight: left }, 'drain timeout; closing connections with requests in flight');
    this.http.closeAllConnections();
    this.#state = 'stopped';
    await this.#pool?.close();
  }

  // -------------------------------------------------------------------------------------------------------------
  // HTTP

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    // Probes first: they never touch the queue or the workers.
    if (path === '/v2/health/live') {
      if (this.#state === 'failed' && this.#pool && this.#pool.size === 0)
        return send(res, 503, errorBody(this.#reason));
      return send(res, 200, LIVE_BODY);
    }
    if (path === '/v2/health/ready') {
      return this.#state === 'ready' ? send(res, 200, READY_BODY) : send(res, 503, errorBody(this.#reason));
    }
    if (path === '/metrics') return void this.#metrics(res);
    if (path === '/v2' || path === '/v2/') {
      return send(
        res,
        200,
        JSON.stringify({ name: SERVER_NAME, version: this.#opts.serverVersion ?? '0.0.0', extensions: EXTENSIONS }),
      );
    }
    if (path.startsWith('/v2/models')) return this.#v2Models(req, res, path.slice('/v2/models'.length));
    if (path.startsWith('/v1/models')) return this.#v1Models(req, res, path.slice('/v1/models'.length));
    send(res, 404, errorBody(`no route for ${req.method ?? 'GET'} ${path}`));
  }

  async #metrics(res: ServerResponse): Promise<void> {
    try {
      const text = await this.metrics.registry.metrics();
      send(res, 200, text, this.metrics.registry.contentType);
    } catch (err) {
      this.#log.error({ err }, 'metrics collection failed');
      send(res, 500, errorBody('metrics collection failed'));
    }
  }

  /** `rest` is what follows /v2/models: '', '/m', '/m/ready', '/m/infer', '/m/versions/v[/ready|/infer]'. */
  #v2Models(req: IncomingMessage, res: ServerResponse, rest: string): void {
    const method = req.method ?? 'GET';
    if (rest === '' || rest === '/') {
      if (method !== 'GET') return methodNotAllowed(res, method, 'GET');
      return send(res, 200, JSON.stringify({ models: [this.#opts.modelName] }));
    }
    const parts = rest.slice(1).split('/');
    let name: string;
    let version: string | undefined;
    let action: string | undefined;
    try {
      name = decodeURIComponent(parts[0] ?? '');
      if (parts[1] === 'versions' && parts.length >= 3) {
        version = decodeURIComponent(parts[2] ?? '');
        action = parts[3];
        if (parts.length > 4) return notFound(res, rest);
      } else {
        action = parts[1];
        if (parts.length > 2) return notFound(res, rest);
      }
    } catch {
      return send(res, 400, errorBody('malformed percent-encoding in the path'));
    }
    const unknown = this.#unknownModel(name, version);
    if (action === undefined || action === '') {
      if (method !== 'GET') return methodNotAllowed(res, method, 'GET');
      if (unknown) return send(res, 404, errorBody(unknown));
      if (!this.#signature) return send(res, 503, errorBody(this.#notReadyMessage()));
      return send(res, 200, this.#metadataBody);
    }
    if (action === 'ready') {
      if (method !== 'GET') return methodNotAllowed(res, method, 'GET');
      if (unknown) return send(res, 404, errorBody(unknown));
      return this.#state === 'ready'
        ? send(res, 200, this.#modelReadyBody)
        : send(res, 503, errorBody(this.#notReadyMessage()));
    }
    if (action === 'infer') {
      if (method !== 'POST') return methodNotAllowed(res, method, 'POST');
      if (unknown) return send(res, 404, errorBody(unknown));
      return void this.#infer(req, res, 'v2');
    }
    notFound(res, rest);
  }

  #v1Models(req: IncomingMessage, res: ServerResponse, rest: string): void {
    const method = req.method ?? 'GET';
    if (rest === '' || rest === '/') {
      if (method !== 'GET') return methodNotAllowed(res, method, 'GET');
      return send(res, 200, JSON.stringify({ models: [this.#opts.modelName] }));
    }
    const seg = rest.slice(1);
    if (seg.includes('/')) return notFound(res, rest);
    const colon = seg.lastIndexOf(':');
    const verb = colon >= 0 ? seg.slice(colon + 1) : undefined;
    let name: string;
    try {
      name = decodeURIComponent(colon >= 0 ? seg.slice(0, colon) : seg);
    } catch {
      return send(res, 400, errorBody('malformed percent-encoding in the path'));
    }
    const unknown = this.#unknownModel(name, undefined);
    if (verb === undefined) {
      if (method !== 'GET') return methodNotAllowed(res, method, 'GET');
      if (unknown) return send(res, 404, errorBody(unknown));
      return send(res, 200, JSON.stringify({ name, ready: this.#state === 'ready' }));
    }
    if (verb !== 'predict') return notFound(res, rest);
    if (method !== 'POST') return methodNotAllowed(res, method, 'POST');
    if (unknown) return send(res, 404, errorBody(unknown));
    void this.#infer(req, res, 'v1');
  }

  #unknownModel(name: string, version: string | undefined): string | undefined {
    if (name !== this.#opts.modelName)
      return `model "${name}" is not served here (this server serves "${this.#opts.modelName}")`;
    if (version !== undefined && version !== this.#opts.modelVersion) {
      return `model "${name}" has no version "${version}" (this server serves version "${this.#opts.modelVersion}")`;
    }
    return undefined;
  }

  #notReadyMessage(): string {
    return `model "${this.#opts.modelName}" is not ready: ${this.#reason}`;
  }

  async #infer(req: IncomingMessage, res: ServerResponse, protocol: 'v1' | 'v2'): Promise<void> {
    const start = this.#now();
    this.#inFlight++;
    try {
      if (this.#state !== 'ready' && this.#state !== 'draining') {
        throw new HttpError(503, this.#notReadyMessage(), 'REJECTED');
      }
      if (this.#state === 'draining') res.setHeader('connection', 'close');
      const body = await readBody(req, this.#opts.maxBodyBytes);
      const sig = this.#signature!;
      const decodeOpts = { inputs: sig.inputs, outputs: sig.outputs, maxBatchSize: this.#batching.maxBatchSize };
      let decoded: DecodedRequest;
      if (protocol === 'v2') {
        const h = req.headers['inference-header-content-length'];
        let headerLength: number | undefined;
        if (h !== undefined) {
          headerLength = Number(h);
          if (!Number.isInteger(headerLength)) {
            throw new InvalidInputError(`Inference-Header-Content-Length "${String(h)}" is not an integer`);
          }
        }
        decoded = decodeInferRequest(body, { ...decodeOpts, headerLength });
      } else {
        decoded = decodeV1(body, sig.inputs, decodeOpts);
      }
      const done = await this.#submit(decoded);
      if (res.destroyed) {
        // The client went away while the request waited or ran: Triton's CANCELED.
        this.metrics.failure('CANCELED');
        return;
      }
      const byName = new Map(done.outputs.map((t) => [t.name, t]));
      const outputs = decoded.outputs.map((o) => byName.get(o.name)!);
      if (protocol === 'v2') {
        const binary = decoded.outputs.some((o) => o.binary)
          ? new Set(decoded.outputs.filter((o) => o.binary).map((o) => o.name))
          : undefined;
        const enc = encodeInferResponse({
          modelName: this.#opts.modelName,
          modelVersion: this.#opts.modelVersion,
          id: decoded.id,
          outputs,
          binary,
        });
        if (enc.headerLength !== undefined) {
          res.setHeader('inference-header-content-length', enc.headerLength);
          send(res, 200, enc.body, 'application/octet-stream');
        } else {
          send(res, 200, enc.body);
        }
      } else {
        send(res, 200, encodeV1(outputs));
      }
      const end = this.#now();
      this.metrics.success({
        total: end - start,
        queue: done.dispatchedAt - done.enqueuedAt,
        computeInput: done.exec.started - done.dispatchedAt,
        computeInfer: done.exec.ran - done.exec.started,
        computeOutput: end - done.exec.ran,
      });
    } catch (err) {
      this.#answerError(res, err);
    } finally {
      this.#inFlight--;
      if (this.#inFlight === 0 && this.#idleWaiters.length > 0) {
        // Let the last response flush (or its connection end) before connections are closed.
        if (res.writableFinished || res.destroyed) this.#wakeIdle();
        else res.once('close', () => this.#wakeIdle());
      }
    }
  }

  #wakeIdle(): void {
    if (this.#inFlight !== 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }

  #answerError(res: ServerResponse, err: unknown): void {
    let status: number;
    let reason: FailureReason;
    let message: string;
    if (err instanceof HttpError) {
      status = err.status;
      reason = err.reason ?? 'OTHER';
      message = err.message;
    } else if (err instanceof InvalidInputError) {
      status = 400;
      reason = 'OTHER';
      message = err.message;
    } else if (err instanceof BackendError) {
      status = 500;
      reason = 'BACKEND';
      message = err.message;
      this.#log.error({ err }, 'inference failed');
    } else {
      status = 500;
      reason = 'OTHER';
      message = `internal error: ${(err as Error).message}`;
      this.#log.error({ err }, 'inference request failed');
    }
    this.metrics.failure(reason);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    send(res, status, errorBody(message));
  }

  #submit(request: DecodedRequest): Promise<Completed> {
    const batcher = this.#batcher!;
    return new Promise<Completed>((resolve, reject) => {
      const item: Pending = {
        rows: request.rows,
        enqueuedAt: this.#now(),
        key: this.#batching.maxBatchSize > 0 ? batchKey(request.inputs) : '',
        request,
        resolve,
        reject,
      };
      if (!batcher.enqueue(item)) {
        reject(
          new HttpError(
            503,
            `the request queue is full (${this.#opts.maxQueueSize} requests); retry later`,
            'REJECTED',
          ),
        );
      }
    });
  }

  #dispatch(pool: WorkerPool, batch: Pending[]): void {
    const dispatchedAt = this.#now();
    const sig = this.#signature!;
    const batched = this.#batching.maxBatchSize > 0;
    const inputs = sig.inputs.map((_, i) => concatTensors(batch.map((p) => p.request.inputs[i]!)));
    const wanted = new Set<string>();
    for (const p of batch) for (const o of p.request.outputs) wanted.add(o.name);
    const names = sig.outputs.filter((o) => wanted.has(o.name)).map((o) => o.name);
    const rows = batch.map((p) => p.rows);
    const total = batched ? rows.reduce((a, b) => a + b, 0) : 1;
    pool.run(inputs, names).then(
      (exec) => {
        this.metrics.executed(total);
        const split = exec.outputs.map((t) => (batched ? splitTensor(t, rows) : [t]));
        batch.forEach((p, j) =>
          p.resolve({ outputs: split.map((s) => s[j]!), enqueuedAt: p.enqueuedAt, dispatchedAt, exec }),
        );
      },
      (err: Error) => {
        for (const p of batch) p.reject(err);
      },
    );
  }
}

/** Batching needs a variable leading dimension on every input and output; otherwise it is switched off. */
export function effectiveBatching(requested: BatchingConfig, sig: ModelSignature, log?: Logger): BatchingConfig {
  if (requested.maxBatchSize <= 0) return { ...requested, maxBatchSize: 0 };
  const fixed = [...sig.inputs, ...sig.outputs].find((t) => t.shape.length === 0 || t.shape[0] !== -1);
  if (fixed) {
    log?.warn(
      { tensor: fixed.name, shape: fixed.shape },
      'the model has no variable leading (batch) dimension; dynamic batching is off and shapes pass through as sent',
    );
    return { ...requested, maxBatchSize: 0 };
  }
  return requested;
}

function batchKey(inputs: readonly Tensor[]): string {
  let key = '';
  for (const t of inputs) key += t.shape.slice(1).join('x') + ';';
  return key;
}

function warmUpInputs(metas: readonly TensorMetadata[], rows: number): Tensor[] {
  return metas.map((m) => {
    const shape = m.shape.map((d, i) => (d >= 0 ? d : i === 0 ? rows : 1));
    return { name: m.name, datatype: m.datatype, shape, data: allocate(m.datatype, elementCount(shape)) };
  });
}

/** KServe v1: `{"instances": [row, ...]}` (or `{"inputs": [...]}`) for a model with one input. */
function decodeV1(
  body: Buffer,
  inputs: readonly TensorMetadata[],
  opts: { inputs: readonly TensorMetadata[]; outputs: readonly TensorMetadata[]; maxBatchSize: number },
): DecodedRequest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new InvalidInputError(`request body is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const obj = parsed as { instances?: unknown; inputs?: unknown } | null;
  const rows = obj?.instances ?? obj?.inputs;
  if (!Array.isArray(rows) || rows.length === 0) {
    throw new InvalidInputError('v1 predict needs a non-empty "instances" (or "inputs") array, one element per row');
  }
  const meta = inputs[0];
  if (inputs.length !== 1 || !meta) {
    throw new InvalidInputError(
      `v1 predict supports single-input models; this model has ${inputs.length} inputs (use v2)`,
    );
  }
  const shape: number[] = [rows.length];
  for (let v: unknown = rows[0]; Array.isArray(v); v = (v as unknown[])[0]) shape.push((v as unknown[]).length);
  const request = { inputs: [{ name: meta.name, datatype: meta.datatype, shape, data: rows }] };
  return decodeInferObject(request, Buffer.alloc(0), opts);
}

/** `{"predictions": [...]}`: one element per row; with several outputs, an object per row keyed by output name. */
function encodeV1(outputs: readonly Tensor[]): string {
  if (outputs.length === 1) return JSON.stringify({ predictions: toNested(outputs[0]!) });
  const nested = outputs.map((t) => toNested(t));
  const rows = outputs[0]?.shape[0] ?? 0;
  const predictions = Array.from({ length: rows }, (_, i) =>
    Object.fromEntries(outputs.map((t, j) => [t.name, nested[j]![i]])),
  );
  return JSON.stringify({ predictions });
}

function errorBody(message: string): string {
  return JSON.stringify({ error: message });
}

function send(res: ServerResponse, status: number, body: string | Buffer, type = JSON_TYPE): void {
  res.writeHead(status, {
    'content-type': type,
    'content-length': typeof body === 'string' ? Buffer.byteLength(body) : body.length,
  });
  res.end(body);
}

function notFound(res: ServerResponse, rest: string): void {
  send(res, 404, errorBody(`no such endpoint under /models: ${rest}`));
}

function methodNotAllowed(res: ServerResponse, method: string, allowed: string): void {
  res.setHeader('allow', allowed);
  send(res, 405, errorBody(`method ${method} is not allowed here; use ${allowed}`));
}

/** Reads the whole body, refusing (413) more than `limit` bytes. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) {
    req.resume();
    return Promise.reject(new HttpError(413, `request body of ${declared} bytes exceeds the limit of ${limit} bytes`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new HttpError(413, `request body exceeds the limit of ${limit} bytes`));
        req.removeAllListeners('data');
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
    req.on('error', (err) => reject(new HttpError(400, `reading the request body failed: ${err.message}`)));
  });
}
