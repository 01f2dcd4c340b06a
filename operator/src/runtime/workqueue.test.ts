import { describe, expect, it } from 'vitest';
import { FakeClock } from './clock.ts';
import { ExponentialBackoffRateLimiter } from './rate-limiter.ts';
import type { WorkQueueMetrics } from './workqueue.ts';
import { WorkQueue } from './workqueue.ts';

/** Resolves `get()` promises that are already settled, without waiting for time. */
async function take(q: WorkQueue): Promise<string | undefined> {
  let got: string | undefined | null = null;
  void q.get().then((k) => (got = k));
  await Promise.resolve();
  await Promise.resolve();
  return got === null ? 'PENDING' : got;
}

describe('WorkQueue', () => {
  it('collapses a key added twice into one', async () => {
    const q = new WorkQueue({ clock: new FakeClock() });
    q.add('ns/a');
    q.add('ns/a');
    q.add('ns/b');
    expect(q.len()).toBe(2);
    expect(await take(q)).toBe('ns/a');
    expect(await take(q)).toBe('ns/b');
    expect(await take(q)).toBe('PENDING');
  });

  it('never hands out a key that a worker holds; a re-add runs once after done', async () => {
    const q = new WorkQueue({ clock: new FakeClock() });
    q.add('a');
    expect(await take(q)).toBe('a');
    q.add('a');
    q.add('a');
    expect(q.len()).toBe(0);
    expect(await take(q)).toBe('PENDING');
    q.done('a');
    // the pending getter above received it; nothing else is queued
    expect(q.inFlight()).toBe(1);
    expect(q.len()).toBe(0);
    q.done('a');
    expect(q.inFlight()).toBe(0);
    expect(await take(q)).toBe('PENDING');
  });

  it('hands distinct keys to parallel getters', async () => {
    const q = new WorkQueue({ clock: new FakeClock() });
    const got = [q.get(), q.get(), q.get()];
    q.add('a');
    q.add('b');
    q.add('c');
    expect(await Promise.all(got)).toEqual(['a', 'b', 'c']);
    expect(q.inFlight()).toBe(3);
  });

  it('addAfter holds a key for exactly the delay; the sooner of two delays wins', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock });
    q.addAfter('a', 1000);
    q.addAfter('a', 300);
    q.addAfter('a', 2000);
    expect(q.waiting()).toBe(1);
    clock.advance(299);
    expect(q.len()).toBe(0);
    clock.advance(1);
    expect(q.len()).toBe(1);
    expect(await take(q)).toBe('a');
    expect(clock.pendingDelays()).toEqual([]);
  });

  it('addAfter with a non-positive delay adds at once', () => {
    const q = new WorkQueue({ clock: new FakeClock() });
    q.addAfter('a', 0);
    q.addAfter('b', -5);
    expect(q.len()).toBe(2);
  });

  const backoffCases = [
    { failures: 1, want: [5] },
    { failures: 4, want: [5, 10, 20, 40] },
    {
      failures: 20,
      want: [
        5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 5120, 10240, 20480, 40960, 81920, 163840, 327680, 655360,
        1_000_000, 1_000_000,
      ],
    },
  ];
  for (const c of backoffCases) {
    it(`addRateLimited backs off ${c.failures} failures as ${c.want.slice(-2).join(', ')} ms`, () => {
      const clock = new FakeClock();
      const q = new WorkQueue({ clock });
      const delays: number[] = [];
      for (let i = 0; i < c.failures; i++) delays.push(q.addRateLimited('k'));
      expect(delays).toEqual(c.want);
      expect(q.numRequeues('k')).toBe(c.failures);
      q.forget('k');
      expect(q.addRateLimited('k')).toBe(5);
    });
  }

  it('keeps backoff per key', () => {
    const q = new WorkQueue({ clock: new FakeClock(), rateLimiter: new ExponentialBackoffRateLimiter() });
    q.addRateLimited('a');
    q.addRateLimited('a');
    expect(q.addRateLimited('a')).toBe(20);
    expect(q.addRateLimited('b')).toBe(5);
  });

  it('after shutDown hands out nothing, wakes waiting getters and ignores adds', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue({ clock });
    const waiting = q.get();
    q.addAfter('later', 100);
    q.shutDown();
    expect(await waiting).toBeUndefined();
    q.add('a');
    expect(await q.get()).toBeUndefined();
    expect(clock.pendingDelays()).toEqual([]);
  });

  it('shutDownWithDrain resolves only after every held key is done, and drops queued ones', async () => {
    const q = new WorkQueue({ clock: new FakeClock() });
    q.add('held');
    q.add('queued');
    expect(await take(q)).toBe('held');
    let drained = false;
    const p = q.shutDownWithDrain().then(() => (drained = true));
    await Promise.resolve();
    expect(drained).toBe(false);
    expect(q.len()).toBe(0);
    q.add('held'); // ignored while shutting down: done() must not requeue it
    q.done('held');
    await p;
    expect(drained).toBe(true);
    expect(q.inFlight()).toBe(0);
  });

  it('reports adds, depth, latencies and retries', async () => {
    const clock = new FakeClock();
    const seen = { added: 0, depth: [] as number[], queue: [] as number[], work: [] as number[], retried: 0 };
    const metrics: WorkQueueMetrics = {
      added: () => seen.added++,
      depth: (n) => seen.depth.push(n),
      queueLatency: (s) => seen.queue.push(s),
      workDuration: (s) => seen.work.push(s),
      retried: () => seen.retried++,
    };
    const q = new WorkQueue({ clock, metrics });
    q.add('a');
    q.add('a');
    clock.advance(250);
    expect(await take(q)).toBe('a');
    clock.advance(1500);
    q.done('a');
    q.addRateLimited('a');
    expect(seen).toEqual({ added: 2, depth: [1, 0], queue: [0.25], work: [1.5], retried: 1 });
  });
});
