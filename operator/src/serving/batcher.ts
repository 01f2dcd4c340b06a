import { allocate, type Tensor, type TensorData } from './protocol.ts';

/** Dynamic batching settings, with Triton's meaning (docs/adr/0020-dynamic-batching-semantics.md). */
export interface BatchingConfig {
  /** Largest batch in rows; 0 disables batching (each request runs alone, its shape passed through). */
  maxBatchSize: number;
  /** Batch sizes (rows) that are sent as soon as they can be formed; empty = only maxBatchSize. */
  preferredBatchSizes: readonly number[];
  /** How long the oldest queued request may wait for a fuller batch, in nanoseconds; 0 = never wait. */
  maxQueueDelayNs: number;
}

export interface Batchable {
  /** Rows this request adds along the batch dimension. */
  rows: number;
  /** Monotonic enqueue time, nanoseconds. */
  enqueuedAt: number;
  /** Requests batch together only when their keys (non-batch dimensions) are equal. */
  key: string;
}

export type BatchDecision =
  { kind: 'idle' } | { kind: 'dispatch'; count: number; rows: number } | { kind: 'wait'; until: number };

/**
 * Decides what a free model instance does with the queue (`queue[head..]`), following Triton's dynamic batcher:
 * take requests in arrival order while they fit in maxBatchSize and share the head's shape; send at once when the
 * batch cannot grow (it is full or the next request does not fit); otherwise send the largest preferred size that
 * can be formed; otherwise send what there is once the oldest request has waited maxQueueDelay (at once when the
 * delay is 0), and until then wait.
 */
export function planBatch(queue: readonly Batchable[], head: number, now: number, cfg: BatchingConfig): BatchDecision {
  const first = queue[head];
  if (!first) return { kind: 'idle' };
  if (cfg.maxBatchSize <= 0) return { kind: 'dispatch', count: 1, rows: first.rows };
  let count = 0;
  let rows = 0;
  let best: { count: number; rows: number } | undefined;
  let blocked = false;
  for (let i = head; i < queue.length; i++) {
    const item = queue[i]!;
    if (item.key !== first.key || rows + item.rows > cfg.maxBatchSize) {
      blocked = count > 0;
      break;
    }
    count++;
    rows += item.rows;
    if (cfg.preferredBatchSizes.includes(rows)) best = { count, rows };
    if (rows === cfg.maxBatchSize) {
      blocked = true;
      break;
    }
  }
  if (count === 0) return { kind: 'dispatch', count: 1, rows: first.rows };
  if (blocked) return { kind: 'dispatch', count, rows };
  if (best) return { kind: 'dispatch', ...best };
  const deadline = first.enqueuedAt + cfg.maxQueueDelayNs;
  if (cfg.maxQueueDelayNs <= 0 || now >= deadline) return { kind: 'dispatch', count, rows };
  return { kind: 'wait', until: deadline };
}

export interface BatcherDeps<T extends Batchable> {
  config: BatchingConfig;
  /** Most requests held in the queue; enqueue beyond it is refused. */
  maxQueueSize: number;
  /** Monotonic clock in nanoseconds. */
  now: () => number;
  /** Schedules a wake-up after `ms` milliseconds; returns a cancel function. */
  schedule: (ms: number, fn: () => void) => () => void;
  /** How many model instances can take a batch now. */
  freeInstances: () => number;
  /** Hands a batch (in arrival order) to a free instance; must make freeInstances() drop by one. */
  dispatch: (batch: T[]) => void;
}

/** The request queue in front of the model instances. Call `pump()` whenever an instance becomes free. */
export class DynamicBatcher<T extends Batchable> {
  readonly #deps: BatcherDeps<T>;
  #queue: T[] = [];
  #head = 0;
  #cancelTimer: (() => void) | undefined;
  #timerAt = 0;

  constructor(deps: BatcherDeps<T>) {
    this.#deps = deps;
  }

  /** Requests waiting for an instance. */
  get size(): number {
    return this.#queue.length - this.#head;
  }

  /** Queues a request and pumps; false (and nothing queued) when the queue is full. */
  enqueue(item: T): boolean {
    if (this.size >= this.#deps.maxQueueSize) return false;
    this.#queue.push(item);
    this.pump();
    return true;
  }

  /** Forms and dispatches batches while instances are free. */
  pump(): void {
    while (this.#deps.freeInstances() > 0) {
      const decision = planBatch(this.#queue, this.#head, this.#deps.now(), this.#deps.config);
      if (decision.kind === 'idle') break;
      if (decision.kind === 'wait') {
        this.#arm(decision.until);
        return;
      }
      const batch = this.#queue.slice(this.#head, this.#head + decision.count);
      this.#head += decision.count;
      if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
      }
      this.#deps.dispatch(batch);
    }
    if (this.size === 0) this.#disarm();
  }

  #arm(until: number): void {
    if (this.#cancelTimer && this.#timerAt === until) return;
    this.#disarm();
    this.#timerAt = until;
    const ms = Math.max(0, (until - this.#deps.now()) / 1e6);
    this.#cancelTimer = this.#deps.schedule(ms, () => {
      this.#cancelTimer = undefined;
      this.pump();
    });
  }

  #disarm(): void {
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
  }

  /** Removes and returns everything queued (used when the server fails requests on shutdown timeout). */
  drain(): T[] {
    this.#disarm();
    const rest = this.#queue.slice(this.#head);
    this.#queue = [];
    this.#head = 0;
    return rest;
  }
}

/** Concatenates the same input of several requests along dimension 0. */
export function concatTensors(parts: readonly Tensor[]): Tensor {
  const first = parts[0]!;
  if (parts.length === 1) return first;
  let rows = 0;
  let elements = 0;
  for (const p of parts) {
    rows += p.shape[0] ?? 0;
    elements += p.data.length;
  }
  const data = allocate(first.datatype, elements);
  let off = 0;
  for (const p of parts) {
    if (Array.isArray(data)) {
      const src = p.data as string[];
      for (let i = 0; i < src.length; i++) data[off + i] = src[i]!;
    } else {
      (data as Float32Array).set(p.data as Float32Array, off);
    }
    off += p.data.length;
  }
  return { name: first.name, datatype: first.datatype, shape: [rows, ...first.shape.slice(1)], data };
}

/** Splits a batched output along dimension 0 into pieces of `rows[i]` rows, in order. Views, not copies. */
export function splitTensor(t: Tensor, rows: readonly number[]): Tensor[] {
  if (rows.length === 1) return [t];
  const total = t.shape[0] ?? 0;
  const perRow = total === 0 ? 0 : t.data.length / total;
  const out: Tensor[] = [];
  let start = 0;
  for (const r of rows) {
    const begin = start * perRow;
    const end = (start + r) * perRow;
    const data: TensorData = Array.isArray(t.data) ? t.data.slice(begin, end) : t.data.subarray(begin, end);
    out.push({ name: t.name, datatype: t.datatype, shape: [r, ...t.shape.slice(1)], data });
    start += r;
  }
  return out;
}
