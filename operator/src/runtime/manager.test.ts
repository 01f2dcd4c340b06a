import type { KubernetesObject } from '@kubernetes/client-node';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { FakeClock } from './clock.ts';
import { Controller } from './controller.ts';
import type { ListWatchSource } from './informer.ts';
import { Informer } from './informer.ts';
import type { LeaderCallbacks } from './leader-election.ts';
import type { Elector } from './manager.ts';
import { Manager } from './manager.ts';
import type { Result } from './result.ts';
import { WorkQueue } from './workqueue.ts';

const log = pino({ level: 'silent' });

async function settle(): Promise<void> {
  for (let i = 0; i < 30; i++) await Promise.resolve();
}

/** A source whose start resolves when the test says so, holding two objects. */
class ManualSource implements ListWatchSource<KubernetesObject> {
  readonly objects = [{ metadata: { name: 'a', namespace: 'ns' } }, { metadata: { name: 'b', namespace: 'ns' } }];
  readonly #add: ((o: KubernetesObject) => void)[] = [];
  #release: (() => void) | undefined;
  on(verb: string, cb: (x: never) => void): void {
    if (verb === 'add') this.#add.push(cb as (o: KubernetesObject) => void);
  }
  start(): Promise<void> {
    return new Promise((resolve) => {
      this.#release = () => {
        for (const o of this.objects) for (const cb of this.#add) cb(o);
        resolve();
      };
    });
  }
  sync(): void {
    this.#release?.();
  }
  stop(): Promise<void> {
    return Promise.resolve();
  }
  get(): KubernetesObject | undefined {
    return undefined;
  }
  list(): readonly KubernetesObject[] {
    return this.objects;
  }
}

class FakeElector implements Elector {
  callbacks: LeaderCallbacks | undefined;
  readonly calls: string[];
  constructor(calls: string[]) {
    this.calls = calls;
  }
  run(callbacks: LeaderCallbacks): void {
    this.callbacks = callbacks;
  }
  stop(): Promise<void> {
    this.calls.push('release lease');
    return Promise.resolve();
  }
  healthy(): boolean {
    return true;
  }
}

function setup() {
  const clock = new FakeClock();
  const calls: string[] = [];
  const pending: (() => void)[] = [];
  const source = new ManualSource();
  const informer = new Informer({ name: 'things', source, log, clock, resyncPeriodMs: 0 });
  const controller = new Controller({
    name: 'thing',
    kind: 'Thing',
    queue: new WorkQueue({ clock }),
    log,
    clock,
    workers: 2,
    reconcile: (req) => {
      calls.push(`reconcile ${req.key}`);
      return new Promise<Result | undefined>((resolve) =>
        pending.push(() => {
          calls.push(`done ${req.key}`);
          resolve(undefined);
        }),
      );
    },
  });
  const elector = new FakeElector(calls);
  let lost = 0;
  const manager = new Manager({ log, elector, gracefulShutdownTimeoutMs: 60_000, onLeadershipLost: () => lost++ });
  manager.watch(controller, informer);
  return { calls, pending, source, elector, manager, lost: () => lost };
}

describe('Manager', () => {
  it('reconciles only once leading and synced; on stop finishes in-flight work before releasing the lease', async () => {
    const h = setup();
    h.manager.start();
    h.source.sync();
    await settle();
    expect(h.manager.synced()).toBe(true);
    expect(h.calls).toEqual([]); // a standby keeps its cache warm but does not reconcile
    h.elector.callbacks?.onStartedLeading();
    await settle();
    expect(h.manager.isLeader).toBe(true);
    expect(h.calls).toEqual(['reconcile ns/a', 'reconcile ns/b']);

    const stopped = h.manager.stop();
    await settle();
    expect(h.calls).not.toContain('release lease');
    for (const finish of h.pending) finish();
    await stopped;
    expect(h.calls).toEqual(['reconcile ns/a', 'reconcile ns/b', 'done ns/a', 'done ns/b', 'release lease']);
  });

  it('does not start workers before its informers synced, even when leading', async () => {
    const h = setup();
    h.manager.start();
    h.elector.callbacks?.onStartedLeading();
    await settle();
    expect(h.calls).toEqual([]);
    h.source.sync();
    await settle();
    expect(h.calls).toEqual(['reconcile ns/a', 'reconcile ns/b']);
    for (const finish of h.pending) finish();
    await h.manager.stop();
  });

  it('reports lost leadership to its owner', () => {
    const h = setup();
    h.manager.start();
    h.elector.callbacks?.onStoppedLeading();
    expect(h.lost()).toBe(1);
  });
});
