import { describe, expect, it } from 'vitest';
import { computeThreads, ConfigError, detectCpuLimit, loadServeConfig, SERVE_FLAGS, serveHelp } from './config.ts';

const cpu2 = { cpus: 2, source: 'test' };
const base = ['--model-name', 'm', '--model-uri', 'file:///models/m.onnx'];

describe('loadServeConfig', () => {
  it('reads flags, with defaults', () => {
    const c = loadServeConfig([...base, '--max-batch-size', '16', '--preferred-batch-sizes', '4, 8'], {}, cpu2);
    expect(c).toMatchObject({
      modelName: 'm',
      modelVersion: '1',
      modelUri: 'file:///models/m.onnx',
      port: 8080,
      maxBatchSize: 16,
      preferredBatchSizes: [4, 8],
      maxQueueDelayMicroseconds: 0,
      workers: 2,
      intraOpThreads: 1,
    });
  });

  it('reads every setting from its environment variable; a flag wins over the variable', () => {
    const env = {
      MLOPS_MODEL_NAME: 'from-env',
      MLOPS_MODEL_URI: 'gs://b/m.onnx',
      MLOPS_MODEL_VERSION: '7',
      MLOPS_MODEL_SHA256: 'ab'.repeat(32),
      MLOPS_PORT: '9000',
      MLOPS_MAX_BATCH_SIZE: '4',
      MLOPS_MAX_QUEUE_DELAY_US: '500',
      MLOPS_WORKERS: '1',
    };
    expect(loadServeConfig([], env, cpu2)).toMatchObject({
      modelName: 'from-env',
      modelUri: 'gs://b/m.onnx',
      modelVersion: '7',
      sha256: 'ab'.repeat(32),
      port: 9000,
      maxBatchSize: 4,
      maxQueueDelayMicroseconds: 500,
      workers: 1,
      intraOpThreads: 2,
    });
    expect(loadServeConfig(['--port', '9100'], env, cpu2)).toMatchObject({ port: 9100 });
  });

  it.each([
    [['--model-uri', 'file:///m.onnx'], /--model-name .* is required/],
    [['--model-name', 'm'], /--model-uri .* is required/],
    [[...base.slice(0, 2), '--model-uri', 's3://b/m.onnx'], /must be file:\/\/ or gs:\/\//],
    [[...base, '--max-batch-size=-1'], /--max-batch-size must be an integer >= 0/],
    [[...base, '--workers', 'two'], /--workers must be an integer/],
    [[...base, '--preferred-batch-sizes', '4,x'], /bad size "x"/],
    [[...base, '--no-such-flag'], /no-such-flag/],
  ])('rejects %j', (argv, message) => {
    expect(() => loadServeConfig(argv, {}, cpu2)).toThrow(ConfigError);
    expect(() => loadServeConfig(argv, {}, cpu2)).toThrow(message);
  });

  it('--help lists every flag and its environment variable', () => {
    expect(loadServeConfig(['--help'], {}, cpu2)).toBe('help');
    const help = serveHelp();
    for (const [name, spec] of Object.entries(SERVE_FLAGS)) {
      expect(help).toContain(`--${name}`);
      if (spec.env) expect(help).toContain(`$${spec.env}`);
    }
    for (const required of [
      'model-name',
      'model-version',
      'model-uri',
      'sha256',
      'port',
      'max-batch-size',
      'max-queue-delay-us',
      'workers',
    ]) {
      expect(help).toContain(`--${required}`);
    }
  });
});

describe('computeThreads: workers x intra-op threads never exceed the CPU limit', () => {
  it.each([
    // cpus, workers flag, threads flag, expected
    [1, undefined, undefined, { workers: 1, intraOpThreads: 1 }],
    [4, undefined, undefined, { workers: 4, intraOpThreads: 1 }],
    [4, 1, undefined, { workers: 1, intraOpThreads: 4 }],
    [4, 2, undefined, { workers: 2, intraOpThreads: 2 }],
    [4, 2, 8, { workers: 2, intraOpThreads: 2 }],
    [2, 8, undefined, { workers: 2, intraOpThreads: 1 }],
    [3, 2, undefined, { workers: 2, intraOpThreads: 1 }],
  ])('cpus %i, workers %s, threads %s', (cpus, w, t, want) => {
    const got = computeThreads(cpus, w, t);
    expect(got).toEqual(want);
    expect(got.workers * got.intraOpThreads).toBeLessThanOrEqual(cpus);
  });
});

describe('detectCpuLimit', () => {
  const files = (m: Record<string, string>) => (p: string) => m[p];
  it.each([
    ['cgroup v2 quota, rounded up', { '/sys/fs/cgroup/cpu.max': '150000 100000\n' }, 8, 2],
    ['cgroup v2 without a quota', { '/sys/fs/cgroup/cpu.max': 'max 100000' }, 8, 8],
    [
      'cgroup v1 quota',
      { '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '50000', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000' },
      8,
      1,
    ],
    [
      'cgroup v1 without a quota',
      { '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000' },
      4,
      4,
    ],
    ['affinity narrower than the quota', { '/sys/fs/cgroup/cpu.max': '400000 100000' }, 2, 2],
    ['no cgroup files', {}, 3, 3],
  ])('%s', (_name, fs, parallel, want) => {
    expect(detectCpuLimit(files(fs), parallel).cpus).toBe(want);
  });
});
