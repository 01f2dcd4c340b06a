import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { HealthServer } from './health-server.ts';
import { createLogger } from './logger.ts';
import { OperatorMetrics } from './metrics.ts';

function capture(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  return {
    stream,
    lines: () =>
      chunks
        .join('')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('createLogger', () => {
  it('writes child bindings, serializes errors under err and redacts tokens', () => {
    const out = capture();
    const log = createLogger({ destination: out.stream }).child({ controller: 'modelversion' });
    log
      .child({ key: 'ns/a', reconcileID: 'r1', generation: 3 })
      .warn({ err: new Error('boom', { cause: new Error('root') }), token: 's3cret' }, 'reconcile failed; retrying');
    const [line] = out.lines();
    expect(line).toMatchObject({
      level: 'warn',
      controller: 'modelversion',
      key: 'ns/a',
      reconcileID: 'r1',
      generation: 3,
      token: '[redacted]',
      msg: 'reconcile failed; retrying',
      err: { type: 'Error', message: 'boom: root' },
    });
    expect(String((line?.err as { stack: string }).stack)).toContain('boom');
  });
});

describe('OperatorMetrics', () => {
  it('exposes controller-runtime and workqueue metric names with their labels', async () => {
    const m = new OperatorMetrics({ defaultMetrics: false });
    const q = m.queue('trainingpipeline');
    q.added();
    q.depth(2);
    q.queueLatency(0.001);
    q.workDuration(0.01);
    q.retried();
    m.controller.reconciled('trainingpipeline', 'success', 0.02);
    m.controller.reconciled('trainingpipeline', 'error', 0.02);
    m.controller.failed('trainingpipeline', true);
    m.leader.isLeader('mlops-operator-leader', true);
    const text = await m.registry.metrics();
    for (const want of [
      'controller_runtime_reconcile_total{controller="trainingpipeline",result="success"} 1',
      'controller_runtime_reconcile_total{controller="trainingpipeline",result="error"} 1',
      'controller_runtime_reconcile_errors_total{controller="trainingpipeline"} 1',
      'controller_runtime_terminal_reconcile_errors_total{controller="trainingpipeline"} 1',
      'controller_runtime_reconcile_time_seconds_count{controller="trainingpipeline"} 2',
      'workqueue_depth{name="trainingpipeline"} 2',
      'workqueue_adds_total{name="trainingpipeline"} 1',
      'workqueue_queue_duration_seconds_count{name="trainingpipeline"} 1',
      'workqueue_work_duration_seconds_count{name="trainingpipeline"} 1',
      'workqueue_retries_total{name="trainingpipeline"} 1',
      'leader_election_master_status{name="mlops-operator-leader"} 1',
    ]) {
      expect(text).toContain(want);
    }
  });
});

describe('HealthServer', () => {
  let server: HealthServer | undefined;
  afterEach(async () => {
    await server?.close();
  });

  it('serves /metrics, /healthz and /readyz with failing checks named', async () => {
    const m = new OperatorMetrics({ defaultMetrics: false });
    m.leader.isLeader('x', false);
    let synced = false;
    server = new HealthServer({
      host: '127.0.0.1',
      port: 0,
      registry: m.registry,
      liveness: { ping: () => undefined },
      readiness: { informers: () => (synced ? undefined : 'caches not synced') },
      log: createLogger({ level: 'silent' }),
    });
    const port = await server.listen();
    const get = async (p: string) => {
      const r = await fetch(`http://127.0.0.1:${port}${p}`);
      return { status: r.status, body: await r.text() };
    };
    expect(await get('/healthz')).toEqual({ status: 200, body: 'ok\n' });
    expect(await get('/readyz')).toEqual({ status: 500, body: '[-]informers failed: caches not synced\nfailed\n' });
    synced = true;
    expect(await get('/readyz')).toEqual({ status: 200, body: 'ok\n' });
    expect((await get('/readyz?verbose')).body).toBe('[+]informers ok\nok\n');
    expect((await get('/metrics')).body).toContain('leader_election_master_status{name="x"} 0');
    expect((await get('/nope')).status).toBe(404);
  });
});
