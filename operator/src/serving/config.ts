import { readFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

/** Settings of `mlops-operator serve`. Every flag has an environment variable; a flag wins over its variable. */
export interface ServeConfig {
  modelName: string;
  modelVersion: string;
  /** file:///... or gs://bucket/key of the ONNX file. */
  modelUri: string;
  /** Expected lower-case hex sha256 of the artifact; absent = not verified. */
  sha256?: string;
  /** Where the artifact is downloaded to. */
  modelDir: string;
  host: string;
  port: number;
  /** 0 disables batching. Reduced to 0 for models without a variable leading dimension. */
  maxBatchSize: number;
  preferredBatchSizes: number[];
  maxQueueDelayMicroseconds: number;
  maxQueueSize: number;
  workers: number;
  intraOpThreads: number;
  /** Nice value of the inference threads. */
  workerNiceness: number;
  /** The CPU limit the thread counts were derived from, and where it came from. */
  cpuLimit: { cpus: number; source: string };
  maxBodyBytes: number;
  maxArtifactBytes: number;
  drainTimeoutSeconds: number;
  gcsEndpoint?: string;
  gcsKeyFile?: string;
  logLevel: string;
}

interface FlagSpec {
  env: string;
  type: 'string' | 'boolean';
  help: string;
  default?: string;
}

/** Flags of `serve`, in --help order. */
export const SERVE_FLAGS: Record<string, FlagSpec> = {
  'model-name': {
    env: 'MLOPS_MODEL_NAME',
    type: 'string',
    help: 'model name in OIP paths (/v2/models/NAME); required',
  },
  'model-version': { env: 'MLOPS_MODEL_VERSION', type: 'string', help: 'model version served', default: '1' },
  'model-uri': {
    env: 'MLOPS_MODEL_URI',
    type: 'string',
    help: 'artifact: file:///path/model.onnx or gs://bucket/key; required',
  },
  sha256: {
    env: 'MLOPS_MODEL_SHA256',
    type: 'string',
    help: 'expected sha256 of the artifact (hex); a mismatch never becomes ready',
  },
  'model-dir': {
    env: 'MLOPS_MODEL_DIR',
    type: 'string',
    help: 'local directory the artifact is downloaded to',
    default: '<tmpdir>/mlops-models',
  },
  host: { env: 'MLOPS_HOST', type: 'string', help: 'listen address', default: '0.0.0.0' },
  port: { env: 'MLOPS_PORT', type: 'string', help: 'HTTP port (OIP v2, KServe v1, /metrics)', default: '8080' },
  'max-batch-size': {
    env: 'MLOPS_MAX_BATCH_SIZE',
    type: 'string',
    help: 'largest dynamic batch in rows; 0 = no batching',
    default: '32',
  },
  'preferred-batch-sizes': {
    env: 'MLOPS_PREFERRED_BATCH_SIZES',
    type: 'string',
    help: 'comma-separated batch sizes sent as soon as formed (Triton preferred_batch_size)',
    default: '',
  },
  'max-queue-delay-us': {
    env: 'MLOPS_MAX_QUEUE_DELAY_US',
    type: 'string',
    help: 'longest wait of the oldest request for a fuller batch, microseconds',
    default: '0',
  },
  'max-queue-size': {
    env: 'MLOPS_MAX_QUEUE_SIZE',
    type: 'string',
    help: 'queued requests beyond which requests are rejected with 503',
    default: '1024',
  },
  workers: {
    env: 'MLOPS_WORKERS',
    type: 'string',
    help: 'model instances (worker threads); default: the CPU limit',
    default: 'auto',
  },
  'intra-op-threads': {
    env: 'MLOPS_INTRA_OP_THREADS',
    type: 'string',
    help: 'onnxruntime intra-op threads per worker; default: CPU limit / workers',
    default: 'auto',
  },
  'worker-nice': {
    env: 'MLOPS_WORKER_NICE',
    type: 'string',
    help: 'nice value (0-19) of the inference threads, so HTTP and health probes preempt inference on a busy CPU',
    default: '10',
  },
  'cpu-limit': {
    env: 'MLOPS_CPU_LIMIT',
    type: 'string',
    help: 'CPUs to size threads for; default: cgroup cpu.max, else os.availableParallelism()',
    default: 'auto',
  },
  'max-body-bytes': {
    env: 'MLOPS_MAX_BODY_BYTES',
    type: 'string',
    help: 'largest request body; larger ones get 413',
    default: String(64 * 1024 * 1024),
  },
  'max-artifact-bytes': {
    env: 'MLOPS_MAX_ARTIFACT_BYTES',
    type: 'string',
    help: 'largest model artifact accepted',
    default: String(4 * 1024 ** 3),
  },
  'drain-timeout-seconds': {
    env: 'MLOPS_DRAIN_TIMEOUT_SECONDS',
    type: 'string',
    help: 'after SIGTERM, longest wait for in-flight requests',
    default: '30',
  },
  'gcs-endpoint': {
    env: 'MLOPS_GCS_ENDPOINT',
    type: 'string',
    help: 'Cloud Storage API endpoint (tests: fake-gcs-server)',
  },
  'gcs-key-file': {
    env: 'MLOPS_GCS_KEY_FILE',
    type: 'string',
    help: 'service-account JSON key; default: workload identity / ADC',
  },
  'log-level': { env: 'MLOPS_LOG_LEVEL', type: 'string', help: 'pino log level', default: 'info' },
  help: { env: '', type: 'boolean', help: 'print this help and exit' },
};

export class ConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

/** Usage text listing every flag with its environment variable and default. */
export function serveHelp(): string {
  const lines = [
    'Usage: mlops-operator serve [flags]',
    '',
    'Serves one ONNX model over the Open Inference Protocol v2 (REST).',
    '',
    'Flags:',
  ];
  for (const [name, spec] of Object.entries(SERVE_FLAGS)) {
    const env = spec.env ? ` [$${spec.env}]` : '';
    const def = spec.default !== undefined && spec.default !== '' ? ` (default ${spec.default})` : '';
    lines.push(`  --${name}${spec.type === 'string' ? ' VALUE' : ''}`, `      ${spec.help}${def}${env}`);
  }
  return lines.join('\n') + '\n';
}

/**
 * The CPU limit of this container: cgroup v2 `cpu.max` (quota/period, rounded up), cgroup v1 cfs quota, capped by
 * os.availableParallelism() (which honours the CPU affinity mask, e.g. taskset).
 */
export function detectCpuLimit(
  read: (path: string) => string | undefined = readOptional,
  parallel: number = availableParallelism(),
): { cpus: number; source: string } {
  const v2 = read('/sys/fs/cgroup/cpu.max')?.trim().split(/\s+/);
  let quota: number | undefined;
  if (v2 && v2[0] !== 'max' && v2[0] !== undefined && v2[1] !== undefined) {
    quota = Number(v2[0]) / Number(v2[1]);
  } else {
    const q = Number(read('/sys/fs/cgroup/cpu/cpu.cfs_quota_us')?.trim());
    const p = Number(read('/sys/fs/cgroup/cpu/cpu.cfs_period_us')?.trim());
    if (q > 0 && p > 0) quota = q / p;
  }
  if (quota !== undefined && Number.isFinite(quota) && quota > 0) {
    const cpus = Math.max(1, Math.ceil(quota));
    if (cpus < parallel) return { cpus, source: `cgroup cpu quota ${quota.toFixed(2)}` };
  }
  return { cpus: parallel, source: 'os.availableParallelism()' };
}

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Thread sizing (docs/adr/0021-worker-pool-sizing.md): workers default to the CPU limit with one intra-op thread
 * each; explicit values are honoured but clamped so that workers x intraOpThreads never exceeds the limit.
 */
export function computeThreads(
  cpus: number,
  workers: number | undefined,
  intraOpThreads: number | undefined,
): { workers: number; intraOpThreads: number } {
  const w = Math.max(1, Math.min(workers ?? cpus, cpus));
  const t = Math.max(1, Math.min(intraOpThreads ?? Math.floor(cpus / w), Math.floor(cpus / w)));
  return { workers: w, intraOpThreads: t };
}

/** Parses `serve` flags and their environment variables. Throws ConfigError naming the bad flag. */
export function loadServeConfig(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  cpuLimit: { cpus: number; source: string } = detectCpuLimit(),
): ServeConfig | 'help' {
  const options: Record<string, { type: 'string' | 'boolean' }> = {};
  for (const [name, spec] of Object.entries(SERVE_FLAGS)) options[name] = { type: spec.type };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new ConfigError(`${(err as Error).message}\n\n${serveHelp()}`, { cause: err });
  }
  if (values['help'] === true) return 'help';
  const get = (name: string): string | undefined => {
    const spec = SERVE_FLAGS[name]!;
    const v = values[name];
    if (typeof v === 'string') return v;
    const e = spec.env ? env[spec.env] : undefined;
    if (e !== undefined && e !== '') return e;
    return undefined;
  };
  const required = (name: string): string => {
    const v = get(name);
    if (v === undefined) throw new ConfigError(`--${name} (or $${SERVE_FLAGS[name]!.env}) is required`);
    return v;
  };
  const int = (name: string, min: number): number | undefined => {
    const v = get(name) ?? SERVE_FLAGS[name]!.default;
    if (v === undefined || v === 'auto') return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new ConfigError(`--${name} must be an integer >= ${min}, got "${v}"`);
    return n;
  };
  const cpuFlag = int('cpu-limit', 1);
  const cpu = cpuFlag !== undefined ? { cpus: cpuFlag, source: '--cpu-limit' } : cpuLimit;
  const threads = computeThreads(cpu.cpus, int('workers', 1), int('intra-op-threads', 1));
  const preferred = (get('preferred-batch-sizes') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => {
      const n = Number(s);
      if (!Number.isInteger(n) || n < 1) throw new ConfigError(`--preferred-batch-sizes has a bad size "${s}"`);
      return n;
    });
  const modelUri = required('model-uri');
  if (!/^(file|gs):\/\//.test(modelUri))
    throw new ConfigError(`--model-uri must be file:// or gs://, got "${modelUri}"`);
  const sha = get('sha256');
  const gcsEndpoint = get('gcs-endpoint');
  const gcsKeyFile = get('gcs-key-file');
  return {
    modelName: required('model-name'),
    modelVersion: get('model-version') ?? '1',
    modelUri,
    ...(sha !== undefined ? { sha256: sha } : {}),
    modelDir: get('model-dir') ?? join(tmpdir(), 'mlops-models'),
    host: get('host') ?? '0.0.0.0',
    port: int('port', 0)!,
    maxBatchSize: int('max-batch-size', 0)!,
    preferredBatchSizes: preferred,
    maxQueueDelayMicroseconds: int('max-queue-delay-us', 0)!,
    maxQueueSize: int('max-queue-size', 1)!,
    workers: threads.workers,
    intraOpThreads: threads.intraOpThreads,
    workerNiceness: Math.min(19, int('worker-nice', 0)!),
    cpuLimit: cpu,
    maxBodyBytes: int('max-body-bytes', 1)!,
    maxArtifactBytes: int('max-artifact-bytes', 1)!,
    drainTimeoutSeconds: int('drain-timeout-seconds', 0)!,
    ...(gcsEndpoint !== undefined ? { gcsEndpoint } : {}),
    ...(gcsKeyFile !== undefined ? { gcsKeyFile } : {}),
    logLevel: get('log-level') ?? 'info',
  };
}
