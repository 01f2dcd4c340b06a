import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { FakeClock } from './clock.ts';
import type { ReconcileOutcome, ReconcileRequest } from './controller.ts';
import { Controller } from './controller.ts';
import type { Result } from './result.ts';
import { TerminalError } from './result.ts';
import { WorkQueue } from './workqueue.ts';

const log = pino({ level: 'silent' });

/** Lets settled promises run their continuations; no time passes. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

interface Deferred {
  promise: Promise<Result | undefined>;
  resolve: (r?: Result) => void;
  reject: (e: unknown) => void;
}
function deferred(): Deferred {
  let resolve!: (r?: Result) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<Result | undefined>((res, rej) => {
    resolve = (r) => res(r);
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A controller whose reconcile records calls and answers from a script per key. */
function harness(opts: {
  workers?: number;
  answer?: (req: ReconcileRequest, n: number) => Promise<Result | undefined>;
}) {
  const clock = new FakeClock();
  const calls: string[] = [];
  const outcomes: ReconcileOutcome[] = [];
  const failures: boolean[] = [];
  let active = 0;
  let maxActive = 0;
  const perKeyActive = new Map<string, number>();
  let maxPerKey = 0;
  const answer = opts.answer ?? (() => Promise.resolve(undefined));
  const queue = new WorkQueue({ clock });
  const c = new Controller({
    name: 'test',
    kind: 'Test',
    queue,
    log,
    clock,
    workers: opts.workers ?? 1,
    metrics: {
      reconciled: (_c, o) => outcomes.push(o),
      failed: (_c, t) => failures.push(t),
      activeWorkers: () => {},
      maxConcurrent: () => {},
    },
    reconcile: async (req) => {
      calls.push(req.key);
      active++;
      maxActive = Math.max(maxActive, active);
      const k = (perKeyActive.get(req.key) ?? 0) + 1;
      perKeyActive.set(req.key, k);
      maxPerKey = Math.max(maxPerKey, k);
      try {
        return await answer(req, calls.filter((x) => x === req.key).length);
      } finally {
        active--;
        perKeyActive.set(req.key, (perKeyActive.get(req.key) ?? 1) - 1);
      }
    },
  });
  return { clock, calls, outcomes, failures, queue, c, stats: () => ({ maxActive, maxPerKey }) };
}

describe('Controller', () => {
  it('retries a failing key after exactly 5, 10 and 20 ms, then forgets the backoff on success', async () => {
    const h = harness({
      answer: (_r, n) => (n <= 3 ? Promise.reject(new Error(`boom ${n}`)) : Promise.resolve(undefined)),
    });
    h.c.start();
    h.c.enqueue('ns/a');
    await settle();
    expect(h.calls).toEqual(['ns/a']);
    for (const delay of [5, 10, 20]) {
      expect(h.clock.pendingDelays()).toEqual([delay]);
      h.clock.advance(delay - 1);
      await settle();
      expect(h.calls.length).toBeLessThan(5);
      const before = h.calls.length;
      h.clock.advance(1);
      await settle();
      expect(h.calls.length).toBe(before + 1);
    }
    expect(h.outcomes).toEqual(['error', 'error', 'error', 'success']);
    expect(h.failures).toEqual([false, false, false]);
    expect(h.queue.numRequeues('ns/a')).toBe(0);
    expect(h.clock.pendingDelays()).toEqual([]);
  });

  it('does not retry a TerminalError', async () => {
    const h = harness({ answer: () => Promise.reject(new TerminalError('spec is invalid')) });
    h.c.start();
    h.c.enqueue('ns/a');
    await settle();
    h.clock.advance(2_000_000);
    await settle();
    expect(h.calls).toEqual(['ns/a']);
    expect(h.outcomes).toEqual(['error']);
    expect(h.failures).toEqual([true]);
    expect(h.clock.pendingDelays()).toEqual([]);
  });

  it('requeues after requeueAfterMs and resets the backoff', async () => {
    const h = harness({
      answer: (_r, n) =>
        n === 1 ? Promise.reject(new Error('once')) : Promise.resolve(n === 2 ? { requeueAfterMs: 30_000 } : undefined),
    });
    h.c.start();
    h.c.enqueue('a');
    await settle();
    h.clock.advance(5);
    await settle();
    expect(h.calls).toEqual(['a', 'a']);
    expect(h.queue.numRequeues('a')).toBe(0);
    expect(h.clock.pendingDelays()).toEqual([30_000]);
    h.clock.advance(29_999);
    await settle();
    expect(h.calls.length).toBe(2);
    h.clock.advance(1);
    await settle();
    expect(h.calls.length).toBe(3);
    expect(h.outcomes).toEqual(['error', 'requeue_after', 'success']);
  });

  it('never reconciles one key on two workers; an add during a reconcile runs once afterwards', async () => {
    const pending: Deferred[] = [];
    const h = harness({
      workers: 4,
      answer: () => {
        const d = deferred();
        pending.push(d);
        return d.promise;
      },
    });
    h.c.start();
    h.c.enqueue('a');
    await settle();
    h.c.enqueue('a');
    h.c.enqueue('a');
    await settle();
    expect(h.calls).toEqual(['a']);
    pending[0]?.resolve();
    await settle();
    expect(h.calls).toEqual(['a', 'a']);
    pending[1]?.resolve();
    await settle();
    expect(h.calls).toEqual(['a', 'a']);
    expect(h.stats().maxPerKey).toBe(1);
  });

  it('reconciles distinct keys in parallel up to the worker count', async () => {
    const pending: Deferred[] = [];
    const h = harness({
      workers: 3,
      answer: () => {
        const d = deferred();
        pending.push(d);
        return d.promise;
      },
    });
    h.c.start();
    for (const k of ['a', 'b', 'c', 'd', 'e']) h.c.enqueue(k);
    await settle();
    expect(h.calls).toEqual(['a', 'b', 'c']);
    pending[1]?.resolve();
    await settle();
    expect(h.calls).toEqual(['a', 'b', 'c', 'd']);
    expect(h.stats().maxActive).toBe(3);
  });

  it('on stop finishes in-flight reconciles, takes no new keys, then resolves', async () => {
    const pending: Deferred[] = [];
    const h = harness({
      workers: 2,
      answer: () => {
        const d = deferred();
        pending.push(d);
        return d.promise;
      },
    });
    h.c.start();
    for (const k of ['a', 'b', 'c']) h.c.enqueue(k);
    await settle();
    let stopped = false;
    const stopping = h.c.stop().then(() => (stopped = true));
    await settle();
    expect(stopped).toBe(false);
    pending[0]?.resolve();
    await settle();
    expect(stopped).toBe(false);
    pending[1]?.reject(new Error('late failure'));
    await stopping;
    expect(h.calls).toEqual(['a', 'b']);
    expect(h.outcomes).toEqual(['success', 'error']);
    // a failure during shutdown does not schedule a retry
    expect(h.clock.pendingDelays()).toEqual([]);
  });
});
