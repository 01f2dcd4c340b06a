import { CoordinationV1Api, CustomObjectsApi, EventsV1Api } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import { PooledKubeConfig } from './runtime/kube-config.ts';
import type { OperatorConfig } from './config.ts';
import { loadOperatorConfig } from './config.ts';
import { createInferenceServiceController } from './controllers/inference-service/controller.ts';
import { createModelVersionController, defaultGateOptions } from './controllers/model-version/controller.ts';
import { createTrainingPipelineController } from './controllers/training-pipeline/controller.ts';
import { HealthServer } from './observability/health-server.ts';
import type { Logger } from './observability/logger.ts';
import { createLogger } from './observability/logger.ts';
import { OperatorMetrics } from './observability/metrics.ts';
import { systemClock } from './runtime/clock.ts';
import { KubeEventRecorder } from './runtime/events.ts';
import { LeaderElector } from './runtime/leader-election.ts';
import { Manager } from './runtime/manager.ts';

/** The controller name on Events (`reportingController`). */
export const REPORTING_CONTROLLER = 'mlops.dev/mlops-operator';

function loadKubeConfig(cfg: OperatorConfig): KubeConfig {
  const kc = new PooledKubeConfig();
  if (cfg.kubeconfig) kc.loadFromFile(cfg.kubeconfig);
  else kc.loadFromCluster();
  return kc;
}

/**
 * Runs the operator until SIGTERM or SIGINT (graceful: in-flight reconciles finish, the lease is released)
 * or until leadership is lost. Resolves with the process exit code.
 */
export async function runOperator(argv: readonly string[]): Promise<number> {
  const cfg = loadOperatorConfig(argv);
  const log = createLogger({ level: cfg.logLevel });
  const metrics = new OperatorMetrics();
  const kc = loadKubeConfig(cfg);
  const clock = systemClock;
  const le = cfg.leaderElection;

  let resolveExit!: (code: number) => void;
  const exited = new Promise<number>((r) => (resolveExit = r));

  const elector = cfg.leaderElect
    ? new LeaderElector(kc.makeApiClient(CoordinationV1Api), le, log, clock, metrics.leader)
    : undefined;
  const manager = new Manager({
    log,
    ...(elector ? { elector } : {}),
    gracefulShutdownTimeoutMs: cfg.gracefulShutdownTimeoutMs,
    onLeadershipLost: () => void shutdown('leadership lost', 1),
  });
  const deps = {
    kc,
    customObjects: kc.makeApiClient(CustomObjectsApi),
    recorder: new KubeEventRecorder(kc.makeApiClient(EventsV1Api), REPORTING_CONTROLLER, le.identity, log, clock),
    log,
    clock,
    namespaces: cfg.namespaces,
    workers: cfg.workers,
    resyncPeriodMs: cfg.resyncPeriodMs,
    metrics,
  };
  createTrainingPipelineController(deps, manager);
  const gateDefaults = defaultGateOptions();
  const { stopEvaluations } = createModelVersionController(deps, manager, {
    ...gateDefaults,
    storage: {
      gcs: {
        ...(cfg.gate.gcsEndpoint ? { apiEndpoint: cfg.gate.gcsEndpoint } : {}),
        ...(cfg.gate.gcsKeyFile ? { keyFilename: cfg.gate.gcsKeyFile } : {}),
      },
    },
    workDir: cfg.gate.workDir ?? gateDefaults.workDir,
    limits: { maxModelBytes: cfg.gate.maxModelBytes, maxDatasetBytes: cfg.gate.maxDatasetBytes },
    intraOpThreads: cfg.gate.threads,
    maxConcurrent: cfg.gate.concurrency,
  });
  createInferenceServiceController(deps, manager);

  const health = new HealthServer({
    host: cfg.metricsHost,
    port: cfg.metricsPort,
    registry: metrics.registry,
    liveness: {
      ping: () => undefined,
      leaderElection: () => (manager.healthy() ? undefined : 'lease renewal overdue'),
    },
    readiness: { informers: () => (manager.synced() ? undefined : 'caches not synced') },
    log,
  });

  let stopping = false;
  async function shutdown(why: string, code: number): Promise<void> {
    if (stopping) return;
    stopping = true;
    log.info({ why }, 'shutting down');
    try {
      // Evaluations run outside reconciles: stop them before the manager releases the lease.
      await stopEvaluations();
      await manager.stop();
    } catch (err) {
      log.error({ err }, 'error while stopping');
      code = code || 1;
    }
    await health.close();
    resolveExit(code);
  }
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal; exiting now');
      resolveExit(1);
      return;
    }
    void shutdown(signal, 0);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  await health.listen();
  logStart(log, cfg);
  manager.start();
  const code = await exited;
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  return code;
}

function logStart(log: Logger, cfg: OperatorConfig): void {
  log.info(
    {
      namespaces: cfg.namespaces.length ? cfg.namespaces : 'all',
      workers: cfg.workers,
      leaderElect: cfg.leaderElect,
      lease: `${cfg.leaderElection.namespace}/${cfg.leaderElection.name}`,
      identity: cfg.leaderElection.identity,
    },
    'starting mlops-operator',
  );
}
