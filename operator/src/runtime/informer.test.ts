import type { KubernetesObject } from '@kubernetes/client-node';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { FakeClock } from './clock.ts';
import type { ListWatchSource } from './informer.ts';
import { Informer, stripManagedFields } from './informer.ts';

const log = pino({ level: 'silent' });

/** A scripted ListWatch: each start() either fails (by throwing or by an error callback) or succeeds. */
class ScriptedSource implements ListWatchSource<KubernetesObject> {
  starts = 0;
  readonly script: ('ok' | 'throw' | 'callback')[];
  readonly objects: KubernetesObject[] = [];
  readonly #cbs: Record<string, ((x: never) => void)[]> = { add: [], update: [], delete: [], error: [] };
  constructor(script: ('ok' | 'throw' | 'callback')[]) {
    this.script = script;
  }
  on(verb: string, cb: (x: never) => void): void {
    this.#cbs[verb]?.push(cb);
  }
  emit(verb: 'add' | 'update' | 'delete' | 'error', x: unknown): void {
    for (const cb of this.#cbs[verb] ?? []) cb(x as never);
  }
  start(): Promise<void> {
    const step = this.script[this.starts++] ?? 'ok';
    if (step === 'throw') return Promise.reject(new Error('connect ECONNREFUSED'));
    if (step === 'callback') this.emit('error', new Error('list failed'));
    return Promise.resolve();
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

async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

describe('Informer', () => {
  it('restarts after any error with doubling delays and resets them once it is watching again', async () => {
    const clock = new FakeClock();
    const source = new ScriptedSource(['throw', 'callback', 'throw', 'ok']);
    const restarts: string[] = [];
    const inf = new Informer({
      name: 'x',
      source,
      log,
      clock,
      resyncPeriodMs: 0,
      metrics: { restarted: (n) => restarts.push(n) },
    });
    inf.start();
    await settle();
    expect(inf.hasSynced()).toBe(false);
    for (const delay of [200, 400, 800]) {
      expect(clock.pendingDelays()).toEqual([delay]);
      clock.advance(delay);
      await settle();
    }
    expect(source.starts).toBe(4);
    expect(inf.hasSynced()).toBe(true);
    expect(restarts).toEqual(['x', 'x', 'x']);
    // a later watch error starts again from the base delay
    source.emit('error', new Error('watch closed with 500'));
    expect(clock.pendingDelays()).toEqual([200]);
    await inf.stop();
    expect(clock.pendingDelays()).toEqual([]);
  });

  it('passes events to handlers and replays the cache at resync with jitter', async () => {
    const clock = new FakeClock();
    const source = new ScriptedSource(['ok']);
    const obj = { metadata: { name: 'a', namespace: 'ns' } };
    source.objects.push(obj);
    const seen: string[] = [];
    const inf = new Informer({ name: 'x', source, log, clock, resyncPeriodMs: 1000 });
    inf.addHandler({
      add: (o) => seen.push(`add ${o.metadata?.name}`),
      resync: (o) => seen.push(`resync ${o.metadata?.name}`),
    });
    inf.start();
    await settle();
    await inf.waitForSync();
    source.emit('add', obj);
    const [delay] = clock.pendingDelays();
    expect(delay).toBeGreaterThanOrEqual(900);
    expect(delay).toBeLessThanOrEqual(1100);
    clock.advance(1100);
    expect(seen).toEqual(['add a', 'resync a']);
    await inf.stop();
  });
});

describe('stripManagedFields', () => {
  it('drops managedFields and keeps the rest', () => {
    const obj = { metadata: { name: 'a', managedFields: [{ manager: 'kubectl' }], labels: { x: 'y' } } };
    expect(stripManagedFields(obj)).toEqual({ metadata: { name: 'a', labels: { x: 'y' } } });
  });
});
