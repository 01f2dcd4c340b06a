import { describe, expect, it } from 'vitest';
import {
  concatTensors,
  DynamicBatcher,
  planBatch,
  splitTensor,
  type Batchable,
  type BatchDecision,
  type BatchingConfig,
} from './batcher.ts';
import type { Tensor } from './protocol.ts';

const US = 1e3;

function q(...items: [rows: number, enqueuedAtUs: number, key?: string][]): Batchable[] {
  return items.map(([rows, at, key]) => ({ rows, enqueuedAt: at * US, key: key ?? 'k' }));
}

function cfg(maxBatchSize: number, delayUs = 0, preferred: number[] = []): BatchingConfig {
  return { maxBatchSize, preferredBatchSizes: preferred, maxQueueDelayNs: delayUs * US };
}

describe('planBatch (Triton dynamic batcher rules)', () => {
  const cases: { name: string; queue: Batchable[]; nowUs: number; cfg: BatchingConfig; want: BatchDecision }[] = [
    { name: 'empty queue', queue: [], nowUs: 0, cfg: cfg(8), want: { kind: 'idle' } },
    {
      name: 'batching off: one request at a time',
      queue: q([3, 0], [1, 0]),
      nowUs: 0,
      cfg: cfg(0, 1000),
      want: { kind: 'dispatch', count: 1, rows: 3 },
    },
    {
      name: 'delay 0: send what is there at once',
      queue: q([1, 0], [2, 1]),
      nowUs: 2,
      cfg: cfg(8),
      want: { kind: 'dispatch', count: 2, rows: 3 },
    },
    {
      name: 'full batch available: no wait even with a delay',
      queue: q([4, 0], [4, 1], [1, 2]),
      nowUs: 3,
      cfg: cfg(8, 10_000),
      want: { kind: 'dispatch', count: 2, rows: 8 },
    },
    {
      name: 'next request would overflow: send now',
      queue: q([5, 0], [4, 1]),
      nowUs: 2,
      cfg: cfg(8, 10_000),
      want: { kind: 'dispatch', count: 1, rows: 5 },
    },
    {
      name: 'partial batch waits until the oldest request has waited the delay',
      queue: q([1, 100], [1, 300]),
      nowUs: 400,
      cfg: cfg(8, 500),
      want: { kind: 'wait', until: 600 * US },
    },
    {
      name: 'delay measured from the oldest request, not the newest',
      queue: q([1, 100], [1, 590]),
      nowUs: 600,
      cfg: cfg(8, 500),
      want: { kind: 'dispatch', count: 2, rows: 2 },
    },
    {
      name: 'preferred size formed: send it at once',
      queue: q([2, 0], [2, 1]),
      nowUs: 2,
      cfg: cfg(16, 10_000, [4, 8]),
      want: { kind: 'dispatch', count: 2, rows: 4 },
    },
    {
      name: 'largest preferred size that can be formed wins',
      queue: q([2, 0], [2, 1], [2, 2], [2, 3], [1, 4]),
      nowUs: 5,
      cfg: cfg(16, 10_000, [4, 8]),
      want: { kind: 'dispatch', count: 4, rows: 8 },
    },
    {
      name: 'no preferred size formed and delay not over: wait',
      queue: q([3, 0]),
      nowUs: 1,
      cfg: cfg(16, 100, [4, 8]),
      want: { kind: 'wait', until: 100 * US },
    },
    {
      name: 'different non-batch shapes are not batched together',
      queue: q([1, 0, 'a'], [1, 1, 'b'], [1, 2, 'a']),
      nowUs: 2,
      cfg: cfg(8, 10_000),
      want: { kind: 'dispatch', count: 1, rows: 1 },
    },
  ];
  it.each(cases)('$name', ({ queue, nowUs, cfg: c, want }) => {
    expect(planBatch(queue, 0, nowUs * US, c)).toEqual(want);
  });

  it('plans from the head index, ignoring what was already taken', () => {
    expect(planBatch(q([8, 0], [1, 0], [1, 0]), 1, 0, cfg(8))).toEqual({ kind: 'dispatch', count: 2, rows: 2 });
  });
});

interface Item extends Batchable {
  id: number;
}

function harness(config: BatchingConfig, instances: number, maxQueueSize = 100) {
  let now = 0;
  let free = instances;
  const timers: { at: number; fn: () => void; cancelled: boolean }[] = [];
  const dispatched: number[][] = [];
  const batcher = new DynamicBatcher<Item>({
    config,
    maxQueueSize,
    now: () => now,
    schedule: (ms, fn) => {
      const t = { at: now + ms * 1e6, fn, cancelled: false };
      timers.push(t);
      return () => {
        t.cancelled = true;
      };
    },
    freeInstances: () => free,
    dispatch: (batch) => {
      free--;
      dispatched.push(batch.map((b) => b.id));
    },
  });
  let id = 0;
  return {
    batcher,
    dispatched,
    add: (rows = 1) => batcher.enqueue({ id: ++id, rows, enqueuedAt: now, key: 'k' }),
    /** Advances the fake clock, firing due timers. */
    advanceUs: (us: number) => {
      now += us * US;
      for (const t of timers.filter((x) => !x.cancelled && x.at <= now)) {
        t.cancelled = true;
        t.fn();
      }
    },
    finish: () => {
      free++;
      batcher.pump();
    },
    pendingTimers: () => timers.filter((t) => !t.cancelled).length,
  };
}

describe('DynamicBatcher', () => {
  it('runs a lone request at once when the delay is 0 (no latency cost at low load)', () => {
    const h = harness(cfg(8), 1);
    h.add();
    expect(h.dispatched).toEqual([[1]]);
  });

  it('collects requests while the instance is busy and sends them as one batch in arrival order', () => {
    const h = harness(cfg(8), 1);
    h.add();
    h.add();
    h.add();
    h.add();
    expect(h.dispatched).toEqual([[1]]);
    h.finish();
    expect(h.dispatched).toEqual([[1], [2, 3, 4]]);
  });

  it('holds a partial batch for the queue delay, then sends it when the timer fires', () => {
    const h = harness(cfg(4, 500), 1);
    h.add();
    h.advanceUs(100);
    h.add();
    expect(h.dispatched).toEqual([]);
    h.advanceUs(399);
    expect(h.dispatched).toEqual([]);
    h.advanceUs(1);
    expect(h.dispatched).toEqual([[1, 2]]);
  });

  it('sends as soon as the batch fills during the delay, and cancels the timer', () => {
    const h = harness(cfg(3, 10_000), 1);
    h.add();
    h.add();
    expect(h.pendingTimers()).toBe(1);
    h.add();
    expect(h.dispatched).toEqual([[1, 2, 3]]);
    expect(h.pendingTimers()).toBe(0);
  });

  it('splits the queue across free instances', () => {
    const h = harness(cfg(2), 2);
    h.add();
    h.add();
    h.add();
    h.add();
    expect(h.dispatched).toEqual([[1], [2]]);
    h.finish();
    expect(h.dispatched).toEqual([[1], [2], [3, 4]]);
  });

  it('refuses requests beyond maxQueueSize without queueing them', () => {
    const h = harness(cfg(8), 1, 2);
    expect(h.add()).toBe(true); // dispatched at once
    expect(h.add()).toBe(true);
    expect(h.add()).toBe(true);
    expect(h.add()).toBe(false);
    expect(h.batcher.size).toBe(2);
    h.finish();
    expect(h.dispatched).toEqual([[1], [2, 3]]);
  });
});

describe('concatTensors / splitTensor', () => {
  const t = (rows: number, start: number): Tensor => ({
    name: 'x',
    datatype: 'FP32',
    shape: [rows, 2],
    data: Float32Array.from({ length: rows * 2 }, (_, i) => start + i),
  });

  it('round-trips along dimension 0, element for element, in order', () => {
    const parts = [t(1, 0), t(3, 10), t(2, 100)];
    const whole = concatTensors(parts);
    expect(whole.shape).toEqual([6, 2]);
    expect(Array.from(whole.data as Float32Array)).toEqual([0, 1, 10, 11, 12, 13, 14, 15, 100, 101, 102, 103]);
    const back = splitTensor(whole, [1, 3, 2]);
    expect(back.map((b) => b.shape)).toEqual([
      [1, 2],
      [3, 2],
      [2, 2],
    ]);
    back.forEach((b, i) =>
      expect(Array.from(b.data as Float32Array)).toEqual(Array.from(parts[i]!.data as Float32Array)),
    );
  });

  it('handles BYTES and rank-1 outputs', () => {
    const s = concatTensors([
      { name: 's', datatype: 'BYTES', shape: [1], data: ['a'] },
      { name: 's', datatype: 'BYTES', shape: [2], data: ['b', 'c'] },
    ]);
    expect(s.data).toEqual(['a', 'b', 'c']);
    expect(splitTensor(s, [2, 1]).map((p) => p.data)).toEqual([['a', 'b'], ['c']]);
  });
});
