import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ControllerMetrics, ReconcileOutcome } from '../runtime/controller.ts';
import type { InformerMetrics } from '../runtime/informer.ts';
import type { LeaderMetrics } from '../runtime/leader-election.ts';
import type { WorkQueueMetrics } from '../runtime/workqueue.ts';

/** Buckets of controller-runtime's reconcile_time_seconds histogram. */
const RECONCILE_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.25, 1.5, 1.75,
  2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
];
/** client-go's workqueue duration buckets: 1 µs to 10 s, powers of ten. */
const QUEUE_BUCKETS = [1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10];

/**
 * The operator's Prometheus metrics under controller-runtime's and client-go's names, so existing dashboards
 * for Go controllers work unchanged. One registry per process (tests make their own).
 */
export class OperatorMetrics {
  readonly registry: Registry;
  readonly #reconcileTotal: Counter<'controller' | 'result'>;
  readonly #reconcileErrors: Counter<'controller'>;
  readonly #terminalErrors: Counter<'controller'>;
  readonly #reconcileTime: Histogram<'controller'>;
  readonly #activeWorkers: Gauge<'controller'>;
  readonly #maxConcurrent: Gauge<'controller'>;
  readonly #depth: Gauge<'name'>;
  readonly #adds: Counter<'name'>;
  readonly #queueDuration: Histogram<'name'>;
  readonly #workDuration: Histogram<'name'>;
  readonly #retries: Counter<'name'>;
  readonly #leader: Gauge<'name'>;
  readonly #informerRestarts: Counter<'informer'>;

  constructor({ defaultMetrics = true }: { defaultMetrics?: boolean } = {}) {
    const registers = [(this.registry = new Registry())];
    if (defaultMetrics) collectDefaultMetrics({ register: this.registry });
    this.#reconcileTotal = new Counter({
      name: 'controller_runtime_reconcile_total',
      help: 'Total number of reconciliations per controller',
      labelNames: ['controller', 'result'],
      registers,
    });
    this.#reconcileErrors = new Counter({
      name: 'controller_runtime_reconcile_errors_total',
      help: 'Total number of reconciliation errors per controller',
      labelNames: ['controller'],
      registers,
    });
    this.#terminalErrors = new Counter({
      name: 'controller_runtime_terminal_reconcile_errors_total',
      help: 'Total number of terminal reconciliation errors per controller',
      labelNames: ['controller'],
      registers,
    });
    this.#reconcileTime = new Histogram({
      name: 'controller_runtime_reconcile_time_seconds',
      help: 'Length of time per reconciliation per controller',
      labelNames: ['controller'],
      buckets: RECONCILE_BUCKETS,
      registers,
    });
    this.#activeWorkers = new Gauge({
      name: 'controller_runtime_active_workers',
      help: 'Number of currently used workers per controller',
      labelNames: ['controller'],
      registers,
    });
    this.#maxConcurrent = new Gauge({
      name: 'controller_runtime_max_concurrent_reconciles',
      help: 'Maximum number of concurrent reconciles per controller',
      labelNames: ['controller'],
      registers,
    });
    this.#depth = new Gauge({
      name: 'workqueue_depth',
      help: 'Current depth of workqueue',
      labelNames: ['name'],
      registers,
    });
    this.#adds = new Counter({
      name: 'workqueue_adds_total',
      help: 'Total number of adds handled by workqueue',
      labelNames: ['name'],
      registers,
    });
    this.#queueDuration = new Histogram({
      name: 'workqueue_queue_duration_seconds',
      help: 'How long in seconds an item stays in workqueue before being requested',
      labelNames: ['name'],
      buckets: QUEUE_BUCKETS,
      registers,
    });
    this.#workDuration = new Histogram({
      name: 'workqueue_work_duration_seconds',
      help: 'How long in seconds processing an item from workqueue takes',
      labelNames: ['name'],
      buckets: QUEUE_BUCKETS,
      registers,
    });
    this.#retries = new Counter({
      name: 'workqueue_retries_total',
      help: 'Total number of retries handled by workqueue',
      labelNames: ['name'],
      registers,
    });
    this.#leader = new Gauge({
      name: 'leader_election_master_status',
      help: 'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master',
      labelNames: ['name'],
      registers,
    });
    this.#informerRestarts = new Counter({
      name: 'mlops_informer_restarts_total',
      help: 'Times an informer restarted after an error (watch or list failure)',
      labelNames: ['informer'],
      registers,
    });
  }

  /** Hooks for one controller's work queue; the queue is named after the controller, as in controller-runtime. */
  queue(name: string): WorkQueueMetrics {
    const depth = this.#depth.labels(name);
    const adds = this.#adds.labels(name);
    const queued = this.#queueDuration.labels(name);
    const work = this.#workDuration.labels(name);
    const retries = this.#retries.labels(name);
    // Export every series from the start, so dashboards and alerts see zeros rather than absent series.
    depth.set(0);
    adds.inc(0);
    retries.inc(0);
    return {
      added: () => adds.inc(),
      depth: (n) => depth.set(n),
      queueLatency: (s) => queued.observe(s),
      workDuration: (s) => work.observe(s),
      retried: () => retries.inc(),
    };
  }

  readonly controller: ControllerMetrics = {
    reconciled: (controller: string, outcome: ReconcileOutcome, seconds: number) => {
      this.#reconcileTotal.labels(controller, outcome).inc();
      this.#reconcileTime.labels(controller).observe(seconds);
    },
    failed: (controller: string, terminal: boolean) => {
      this.#reconcileErrors.labels(controller).inc();
      if (terminal) this.#terminalErrors.labels(controller).inc();
    },
    activeWorkers: (controller: string, delta: number) => this.#activeWorkers.labels(controller).inc(delta),
    maxConcurrent: (controller: string, n: number) => this.#maxConcurrent.labels(controller).set(n),
  };

  readonly leader: LeaderMetrics = {
    isLeader: (name: string, leader: boolean) => this.#leader.labels(name).set(leader ? 1 : 0),
  };

  readonly informer: InformerMetrics = {
    restarted: (informer: string) => this.#informerRestarts.labels(informer).inc(),
  };
}
