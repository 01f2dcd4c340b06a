import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import type { LeaderElectionConfig } from './runtime/leader-election.ts';

/** A flag or environment variable has an invalid value. */
export class ConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

/** Everything the operator process needs from its environment, parsed and validated once. */
export interface OperatorConfig {
  /** Path of a kubeconfig file; undefined means the in-cluster service account. */
  kubeconfig: string | undefined;
  /** Namespaces to watch; empty means all namespaces. */
  namespaces: string[];
  /** Parallel reconciles per controller (distinct keys). */
  workers: number;
  metricsHost: string;
  /** 0 picks a free port. */
  metricsPort: number;
  logLevel: string;
  /** Interval of the informers' insurance resync. */
  resyncPeriodMs: number;
  /** How long SIGTERM waits for in-flight reconciles before exiting anyway. */
  gracefulShutdownTimeoutMs: number;
  leaderElect: boolean;
  leaderElection: LeaderElectionConfig;
  /** The evaluation gate (ModelVersion controller). */
  gate: {
    /** Cloud Storage API endpoint; undefined means Google's (tests: fake-gcs-server). */
    gcsEndpoint: string | undefined;
    /** Service-account JSON key file (a mounted Secret); undefined means workload identity / ADC. */
    gcsKeyFile: string | undefined;
    /** Scratch directory for downloads; undefined means a directory under the OS temp dir. */
    workDir: string | undefined;
    maxModelBytes: number;
    maxDatasetBytes: number;
    /** onnxruntime intra-op threads per model during an evaluation. */
    threads: number;
    /** Evaluations of different models at once. */
    concurrency: number;
  };
}

/** Flag name, environment variable, default; flags win over environment variables. */
const SETTINGS = {
  kubeconfig: { env: 'KUBECONFIG', def: '' },
  namespaces: { env: 'MLOPS_WATCH_NAMESPACES', def: '' },
  workers: { env: 'MLOPS_WORKERS', def: '4' },
  'metrics-bind-address': { env: 'MLOPS_METRICS_BIND_ADDRESS', def: '0.0.0.0:8080' },
  'log-level': { env: 'MLOPS_LOG_LEVEL', def: 'info' },
  'resync-period': { env: 'MLOPS_RESYNC_PERIOD', def: '10h' },
  'graceful-shutdown-timeout': { env: 'MLOPS_GRACEFUL_SHUTDOWN_TIMEOUT', def: '30s' },
  'leader-elect': { env: 'MLOPS_LEADER_ELECT', def: 'true' },
  'leader-election-namespace': { env: 'MLOPS_LEADER_ELECTION_NAMESPACE', def: '' },
  'leader-election-id': { env: 'MLOPS_LEADER_ELECTION_ID', def: 'mlops-operator-leader' },
  'leader-election-identity': { env: 'MLOPS_LEADER_ELECTION_IDENTITY', def: '' },
  'lease-duration': { env: 'MLOPS_LEASE_DURATION', def: '15s' },
  'renew-deadline': { env: 'MLOPS_RENEW_DEADLINE', def: '10s' },
  'retry-period': { env: 'MLOPS_RETRY_PERIOD', def: '2s' },
  'gcs-endpoint': { env: 'MLOPS_GCS_ENDPOINT', def: '' },
  'gcs-key-file': { env: 'MLOPS_GCS_KEY_FILE', def: '' },
  'gate-work-dir': { env: 'MLOPS_GATE_WORK_DIR', def: '' },
  'gate-max-model-bytes': { env: 'MLOPS_GATE_MAX_MODEL_BYTES', def: String(2 * 1024 ** 3) },
  'gate-max-dataset-bytes': { env: 'MLOPS_GATE_MAX_DATASET_BYTES', def: String(10 * 1024 ** 3) },
  'gate-threads': { env: 'MLOPS_GATE_THREADS', def: '1' },
  'gate-concurrency': { env: 'MLOPS_GATE_CONCURRENCY', def: '1' },
} as const;
type Setting = keyof typeof SETTINGS;

/** Usage text for `mlops-operator operator --help`. */
export function operatorUsage(): string {
  const lines = Object.entries(SETTINGS).map(
    ([flag, s]) => `  --${flag.padEnd(28)} env ${s.env.padEnd(34)} default ${s.def === '' ? '(none)' : s.def}`,
  );
  return ['Usage: mlops-operator operator [flags]', '', ...lines, ''].join('\n');
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a Go-style duration (`500ms`, `15s`, `1h30m`) into milliseconds. */
export function parseDuration(text: string, what: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * (UNITS[m[2] as string] ?? 0);
    matched = re.lastIndex;
  }
  if (text === '' || matched !== text.length) {
    throw new ConfigError(`Expected ${what} to be a duration like 15s or 1h30m, got \`${text}\``);
  }
  return total;
}

function parseBool(text: string, what: string): boolean {
  if (/^(true|1|yes)$/i.test(text)) return true;
  if (/^(false|0|no)$/i.test(text)) return false;
  throw new ConfigError(`Expected ${what} to be true or false, got \`${text}\``);
}

function parseInteger(text: string, what: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`Expected ${what} to be an integer in [${min}, ${max}], got \`${text}\``);
  }
  return n;
}

/**
 * Reads the operator's configuration from command-line flags (`--workers=8`) and environment variables
 * (`MLOPS_WORKERS=8`), flags first. The leader-election namespace and identity fall back to the downward-API
 * variables POD_NAMESPACE and POD_NAME. Throws ConfigError on an invalid value.
 */
export function loadOperatorConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): OperatorConfig {
  let values: Record<string, string | boolean | undefined>;
  try {
    const options = Object.fromEntries(Object.keys(SETTINGS).map((k) => [k, { type: 'string' as const }]));
    values = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new ConfigError(`${err instanceof Error ? err.message : String(err)}\n\n${operatorUsage()}`, { cause: err });
  }
  const get = (k: Setting): string => {
    const flag = values[k];
    if (typeof flag === 'string') return flag;
    return env[SETTINGS[k].env] ?? SETTINGS[k].def;
  };
  const bind = get('metrics-bind-address');
  const colon = bind.lastIndexOf(':');
  if (colon < 0) throw new ConfigError(`Expected --metrics-bind-address to be host:port, got \`${bind}\``);
  const leaseDurationMs = parseDuration(get('lease-duration'), '--lease-duration');
  const renewDeadlineMs = parseDuration(get('renew-deadline'), '--renew-deadline');
  const retryPeriodMs = parseDuration(get('retry-period'), '--retry-period');
  if (!(leaseDurationMs > renewDeadlineMs && renewDeadlineMs > retryPeriodMs && retryPeriodMs > 0)) {
    throw new ConfigError('Expected --lease-duration > --renew-deadline > --retry-period > 0');
  }
  return {
    kubeconfig: get('kubeconfig') || undefined,
    namespaces: get('namespaces')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
    workers: parseInteger(get('workers'), '--workers', 1, 256),
    metricsHost: bind.slice(0, colon) || '0.0.0.0',
    metricsPort: parseInteger(bind.slice(colon + 1), 'the --metrics-bind-address port', 0, 65535),
    logLevel: get('log-level'),
    resyncPeriodMs: parseDuration(get('resync-period'), '--resync-period'),
    gracefulShutdownTimeoutMs: parseDuration(get('graceful-shutdown-timeout'), '--graceful-shutdown-timeout'),
    leaderElect: parseBool(get('leader-elect'), '--leader-elect'),
    leaderElection: {
      namespace: get('leader-election-namespace') || env.POD_NAMESPACE || 'mlops-system',
      name: get('leader-election-id'),
      identity: get('leader-election-identity') || env.POD_NAME || `${hostname()}_${randomUUID()}`,
      leaseDurationMs,
      renewDeadlineMs,
      retryPeriodMs,
    },
    gate: {
      gcsEndpoint: get('gcs-endpoint') || undefined,
      gcsKeyFile: get('gcs-key-file') || undefined,
      workDir: get('gate-work-dir') || undefined,
      maxModelBytes: parseInteger(get('gate-max-model-bytes'), '--gate-max-model-bytes', 1, Number.MAX_SAFE_INTEGER),
      maxDatasetBytes: parseInteger(
        get('gate-max-dataset-bytes'),
        '--gate-max-dataset-bytes',
        1,
        Number.MAX_SAFE_INTEGER,
      ),
      threads: parseInteger(get('gate-threads'), '--gate-threads', 1, 64),
      concurrency: parseInteger(get('gate-concurrency'), '--gate-concurrency', 1, 64),
    },
  };
}
