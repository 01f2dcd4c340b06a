import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino, type Logger } from 'pino';
import { downloadVerified } from '../storage/download.ts';
import type { StoreOptions } from '../storage/index.ts';
import { StorageError, type ArtifactStore } from '../storage/types.ts';
import { ConfigError, loadServeConfig, serveHelp, type ServeConfig } from './config.ts';
import { ModelServer } from './server.ts';

/**
 * `mlops-operator serve`: downloads and verifies the artifact, loads it into the worker pool, warms it up, turns
 * ready, and on SIGTERM/SIGINT stops readiness, drains in-flight requests and returns. Exit status 2 on bad flags.
 */
export async function runServe(argv: string[]): Promise<void> {
  let cfg: ServeConfig | 'help';
  try {
    cfg = loadServeConfig(argv);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`mlops-operator serve: ${err.message}\n`);
    process.exitCode = 2;
    return;
  }
  if (cfg === 'help') {
    process.stdout.write(serveHelp());
    return;
  }
  const config = cfg;
  const log = pino({
    level: config.logLevel,
    base: { component: 'model-server', model: config.modelName, version: config.modelVersion },
  });
  const server = new ModelServer({
    modelName: config.modelName,
    modelVersion: config.modelVersion,
    batching: {
      maxBatchSize: config.maxBatchSize,
      preferredBatchSizes: config.preferredBatchSizes,
      maxQueueDelayNs: config.maxQueueDelayMicroseconds * 1e3,
    },
    maxQueueSize: config.maxQueueSize,
    workers: config.workers,
    intraOpThreads: config.intraOpThreads,
    workerNiceness: config.workerNiceness,
    maxBodyBytes: config.maxBodyBytes,
    drainTimeoutMs: config.drainTimeoutSeconds * 1e3,
    logger: log,
    prepare: () => prepareArtifact(config, log),
    serverVersion: packageVersion(),
  });
  const stopped = new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      log.info({ signal }, 'shutting down: not ready, draining in-flight requests');
      void server.shutdown().then(() => {
        log.info('stopped');
        resolve();
      });
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  const addr = await server.listen(config.port, config.host);
  log.info(
    {
      address: addr.address,
      port: addr.port,
      uri: config.modelUri,
      workers: config.workers,
      intraOpThreads: config.intraOpThreads,
      cpuLimit: config.cpuLimit,
      maxBatchSize: config.maxBatchSize,
      maxQueueDelayMicroseconds: config.maxQueueDelayMicroseconds,
    },
    'listening; loading the model',
  );
  await server.load();
  await stopped;
}

/** Downloads the artifact into modelDir with a streamed sha256 check; retries transient storage errors. */
export async function prepareArtifact(config: ServeConfig, log: Logger): Promise<string> {
  const options: StoreOptions = {
    gcs: {
      ...(config.gcsEndpoint !== undefined ? { apiEndpoint: config.gcsEndpoint } : {}),
      ...(config.gcsKeyFile !== undefined ? { keyFilename: config.gcsKeyFile } : {}),
    },
  };
  const store = await storeForUri(config.modelUri, options);
  const safe = (s: string): string => s.replace(/[^A-Za-z0-9._-]/g, '_');
  const dest = join(config.modelDir, `${safe(config.modelName)}-${safe(config.modelVersion)}.onnx`);
  if (config.sha256 === undefined)
    log.warn({ uri: config.modelUri }, 'no --sha256 given: the artifact is not verified');
  for (let attempt = 1; ; attempt++) {
    try {
      const result = await downloadVerified(store, config.modelUri, dest, {
        ...(config.sha256 !== undefined ? { expectedSha256: config.sha256 } : {}),
        maxBytes: config.maxArtifactBytes,
      });
      log.info({ uri: config.modelUri, path: dest, ...result }, 'artifact downloaded and verified');
      return dest;
    } catch (err) {
      if (err instanceof StorageError && err.transient && attempt < 5) {
        log.warn({ err, attempt }, 'artifact download failed; retrying');
        await sleep(500 * 2 ** attempt);
        continue;
      }
      throw err;
    }
  }
}

/**
 * The shared artifact store for `uri`. The storage index (and with it @google-cloud/storage, ~0.5 s of module
 * loading) is imported only for gs:// URIs, so file:// start-up does not pay for it.
 */
async function storeForUri(uri: string, options: StoreOptions): Promise<ArtifactStore> {
  if (uri.startsWith('file://')) return new (await import('../storage/file-store.ts')).FileStore();
  return (await import('../storage/index.ts')).storeFor(uri, options);
}

function packageVersion(): string {
  for (let dir = new URL('.', import.meta.url), i = 0; i < 6; i++, dir = new URL('..', dir)) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'mlops-operator' && pkg.version) return pkg.version;
    } catch {
      // not here; look one level up
    }
  }
  return '0.0.0';
}
