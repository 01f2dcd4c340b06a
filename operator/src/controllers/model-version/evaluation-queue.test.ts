import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../runtime/clock.ts';
import { EvaluationQueue, type EvaluationTask } from './evaluation-queue.ts';

/** A task whose run() resolves or rejects when the test says so. */
function controllable(key: string, model: string, version: number) {
  const log: string[] = [];
  let finish!: (err?: Error) => void;
  const task: EvaluationTask = {
    key,
    uid: `uid-${key}`,
    generation: 1,
    model,
    version,
    run: (started) =>
      new Promise<void>((resolve, reject) => {
        log.push('start');
        started(undefined);
        finish = (err) => (err ? reject(err) : resolve());
      }),
  };
  return { task, log, finish: (err?: Error) => finish(err) };
}

const flush = () => new Promise((r) => setImmediate(r));

function queue(clock = new FakeClock()) {
  const changed: string[] = [];
  const q = new EvaluationQueue({
    onChange: (k) => changed.push(k),
    classify: (err) => ({ reason: 'StorageUnavailable', message: (err as Error).message }),
    retryDelayMs: (n) => 1000 * n,
    clock,
    maxConcurrent: 4,
  });
  return { q, changed, clock };
}

describe('EvaluationQueue', () => {
  it('runs one evaluation per model at a time, lowest version first; other models in parallel', async () => {
    const { q } = queue();
    const v3 = controllable('ns/m-v3', 'ns/m', 3);
    const v2 = controllable('ns/m-v2', 'ns/m', 2);
    const other = controllable('ns/o-v1', 'ns/o', 1);
    const v1 = controllable('ns/m-v1', 'ns/m', 1);
    q.submit(v1.task);
    q.submit(v3.task);
    q.submit(v2.task);
    q.submit(other.task);
    expect(q.state('ns/m-v1', 'uid-ns/m-v1', 1).state).toBe('running');
    expect(q.state('ns/o-v1', 'uid-ns/o-v1', 1).state).toBe('running');
    expect(q.state('ns/m-v2', 'uid-ns/m-v2', 1)).toEqual({ state: 'queued', ahead: 1 });
    expect(q.state('ns/m-v3', 'uid-ns/m-v3', 1)).toEqual({ state: 'queued', ahead: 2 });
    v1.finish();
    await flush();
    expect(q.state('ns/m-v1', 'uid-ns/m-v1', 1).state).toBe('done');
    expect(q.state('ns/m-v2', 'uid-ns/m-v2', 1).state).toBe('running');
    expect(v3.log).toEqual([]);
    v2.finish();
    await flush();
    expect(v3.log).toEqual(['start']);
  });

  it('a failed run becomes a retry with backoff, and the model is free again', async () => {
    const { q, clock } = queue();
    const a = controllable('ns/m-v1', 'ns/m', 1);
    const b = controllable('ns/m-v2', 'ns/m', 2);
    q.submit(a.task);
    q.submit(b.task);
    a.finish(new Error('unavailable'));
    await flush();
    expect(q.state('ns/m-v1', 'uid-ns/m-v1', 1)).toEqual({
      state: 'retrying',
      attempts: 1,
      retryAtMs: clock.now() + 1000,
      reason: 'StorageUnavailable',
      message: 'unavailable',
    });
    expect(b.log).toEqual(['start']);
    q.submit(a.task); // due: resubmitted by the reconcile
    expect(q.state('ns/m-v1', 'uid-ns/m-v1', 1)).toEqual({ state: 'queued', ahead: 1 });
    b.finish();
    await flush();
    a.finish(new Error('still'));
    await flush();
    expect(q.state('ns/m-v1', 'uid-ns/m-v1', 1)).toMatchObject({
      state: 'retrying',
      attempts: 2,
      retryAtMs: clock.now() + 2000,
    });
  });

  it('ignores a duplicate submit and reports a new generation as not started', () => {
    const { q } = queue();
    const a = controllable('ns/m-v1', 'ns/m', 1);
    q.submit(a.task);
    q.submit(a.task);
    expect(a.log).toEqual(['start']);
    expect(q.state('ns/m-v1', 'uid-ns/m-v1', 2)).toEqual({ state: 'none' });
    expect(q.state('ns/m-v1', 'other-uid', 1)).toEqual({ state: 'none' });
  });
});

describe('EvaluationQueue blocking', () => {
  it('waits for an older version that is not queued yet, then runs oldest first', async () => {
    const pendingOlder = new Set(['ns/m-v2']);
    const q = new EvaluationQueue({
      onChange: () => undefined,
      classify: () => ({ reason: 'X', message: 'x' }),
      retryDelayMs: () => 1000,
      clock: new FakeClock(),
      isBlocked: (task, known) => task.version > 2 && [...pendingOlder].some((k) => !known(k)),
    });
    const v3 = controllable('ns/m-v3', 'ns/m', 3);
    const v2 = controllable('ns/m-v2', 'ns/m', 2);
    q.submit(v3.task);
    expect(q.state('ns/m-v3', 'uid-ns/m-v3', 1)).toEqual({ state: 'queued', ahead: 0 });
    expect(v3.log).toEqual([]);
    q.submit(v2.task);
    expect(v2.log).toEqual(['start']);
    expect(v3.log).toEqual([]);
    v2.finish();
    await flush();
    expect(v3.log).toEqual(['start']);
  });
});

describe('EvaluationQueue cleanup', () => {
  it('forgets finished tasks and tasks of deleted objects, never a running one', async () => {
    const { q } = queue();
    const a = controllable('ns/a-v1', 'ns/a', 1);
    const b = controllable('ns/b-v1', 'ns/b', 1);
    q.submit(a.task);
    q.submit(b.task);
    a.finish();
    await flush();
    q.prune(() => false);
    expect(q.state('ns/a-v1', 'uid-ns/a-v1', 1)).toEqual({ state: 'none' });
    expect(q.state('ns/b-v1', 'uid-ns/b-v1', 1).state).toBe('running');
    q.forget('ns/b-v1');
    expect(q.state('ns/b-v1', 'uid-ns/b-v1', 1).state).toBe('running');
  });
});
