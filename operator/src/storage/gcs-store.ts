import { Storage, type File, type StorageOptions } from '@google-cloud/storage';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { mapStreamErrors } from './file-store.ts';
import { gsUri, parseUri } from './uri.ts';
import { StorageError, type ArtifactStore, type ObjectInfo, type StorageErrorCode } from './types.ts';

/** How the operator reaches Google Cloud Storage. Every field is optional: the defaults are production GCS. */
export interface GcsOptions {
  /** Another endpoint than storage.googleapis.com, e.g. fake-gcs-server `http://127.0.0.1:4443` in tests. */
  apiEndpoint?: string;
  projectId?: string;
  /**
   * Path of a service-account JSON key, typically a Secret mounted into the pod. Absent: Application Default
   * Credentials, i.e. GKE workload identity (the metadata server). The key's content is never logged.
   */
  keyFilename?: string;
  /** Parsed service-account credentials, when they come from somewhere other than a file. Never logged. */
  credentials?: { client_email: string; private_key: string };
  /**
   * Retries inside the client for one call (network errors, 408/429/5xx), before the call fails as
   * `Unavailable`. The controller retries failed calls again with its own backoff. Default 2.
   */
  maxRetries?: number;
}

/**
 * `gs://bucket/key` artifacts through @google-cloud/storage. Reads stream and pin the object generation they
 * first saw, so bytes from two versions of one object are never mixed.
 */
export class GcsStore implements ArtifactStore {
  readonly #storage: Storage;

  constructor(options: GcsOptions = {}) {
    const opts: StorageOptions = {
      retryOptions: {
        autoRetry: (options.maxRetries ?? 2) > 0,
        maxRetries: options.maxRetries ?? 2,
        maxRetryDelay: 4,
        totalTimeout: 60,
      },
    };
    if (options.apiEndpoint !== undefined) opts.apiEndpoint = options.apiEndpoint;
    if (options.projectId !== undefined) opts.projectId = options.projectId;
    if (options.keyFilename !== undefined) opts.keyFilename = options.keyFilename;
    if (options.credentials !== undefined) opts.credentials = options.credentials;
    this.#storage = new Storage(opts);
  }

  async read(uri: string): Promise<Readable> {
    const file = this.#file(uri);
    const [meta] = await file.getMetadata().catch((err: unknown) => {
      throw gcsError(uri, err, 'read');
    });
    const pinned = meta.generation === undefined ? file : file.bucket.file(file.name, { generation: meta.generation });
    const stream = pinned.createReadStream({ validation: 'crc32c' });
    return mapStreamErrors(stream, (err) => gcsError(uri, err, 'read'));
  }

  async stat(uri: string): Promise<ObjectInfo> {
    const file = this.#file(uri);
    const [meta] = await file.getMetadata().catch((err: unknown) => {
      throw gcsError(uri, err, 'stat');
    });
    return objectInfo(uri, meta);
  }

  async write(uri: string, data: Readable | Uint8Array | string): Promise<void> {
    const file = this.#file(uri);
    try {
      if (typeof data === 'string' || data instanceof Uint8Array) {
        await file.save(typeof data === 'string' ? Buffer.from(data) : data, { resumable: false });
      } else {
        await pipeline(data, file.createWriteStream({ resumable: true }));
      }
    } catch (err) {
      throw gcsError(uri, err, 'write');
    }
  }

  async *list(prefixUri: string): AsyncIterable<ObjectInfo> {
    const parsed = parseUri(prefixUri);
    if (parsed.scheme !== 'gs') throw new StorageError('InvalidUri', prefixUri, `GcsStore cannot handle ${prefixUri}`);
    const bucket = this.#storage.bucket(parsed.bucket);
    let pageToken: string | undefined;
    try {
      do {
        const [files, next] = await bucket.getFiles({
          prefix: parsed.key,
          autoPaginate: false,
          maxResults: 1000,
          ...(pageToken === undefined ? {} : { pageToken }),
        });
        for (const f of files) yield objectInfo(gsUri(parsed.bucket, f.name), f.metadata);
        pageToken = (next as { pageToken?: string } | null)?.pageToken;
      } while (pageToken);
    } catch (err) {
      throw gcsError(prefixUri, err, 'list');
    }
  }

  #file(uri: string): File {
    const parsed = parseUri(uri);
    if (parsed.scheme !== 'gs') throw new StorageError('InvalidUri', uri, `GcsStore cannot handle ${uri}`);
    if (parsed.key === '' || parsed.key.endsWith('/')) {
      throw new StorageError('InvalidUri', uri, `${uri} names a prefix, not an object`);
    }
    return this.#storage.bucket(parsed.bucket).file(parsed.key);
  }
}

function objectInfo(
  uri: string,
  meta: { size?: string | number; updated?: string; generation?: string | number; md5Hash?: string },
): ObjectInfo {
  const info: ObjectInfo = { uri, sizeBytes: Number(meta.size ?? 0) };
  if (meta.updated) info.updated = new Date(meta.updated);
  const etag = meta.generation ?? meta.md5Hash;
  if (etag !== undefined) info.etag = String(etag);
  return info;
}

/** Network failures that are worth a retry. */
const TRANSIENT_ERRNO = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ERR_STREAM_PREMATURE_CLOSE',
  // The client's own crc32c check of a download: the bytes were damaged on the way; fetching again helps.
  'CONTENT_DOWNLOAD_MISMATCH',
]);

/** Maps what @google-cloud/storage, gaxios or the network throw onto a StorageError. */
export function gcsError(uri: string, err: unknown, op: string): StorageError {
  if (err instanceof StorageError) return err;
  const { status, errno } = errorCodes(err);
  let code: StorageErrorCode = 'Unknown';
  if (status === 404) code = 'NotFound';
  else if (status === 401 || status === 403) code = 'PermissionDenied';
  else if (status === 400) code = 'InvalidUri';
  else if (status === 408 || status === 429 || (status !== undefined && status >= 500)) code = 'Unavailable';
  else if (errno !== undefined && (TRANSIENT_ERRNO.has(errno) || errno.startsWith('UND_ERR_'))) code = 'Unavailable';
  else if (err instanceof Error && /default credentials|invalid_grant|private key/i.test(err.message)) {
    code = 'PermissionDenied';
  }
  const what = status !== undefined ? `HTTP ${status}` : (errno ?? (err instanceof Error ? err.name : 'failed'));
  return new StorageError(code, uri, `${op} ${uri}: ${describe(code)} (${what})`, { cause: err });
}

function describe(code: StorageErrorCode): string {
  switch (code) {
    case 'NotFound':
      return 'not found';
    case 'PermissionDenied':
      return 'permission denied';
    case 'InvalidUri':
      return 'invalid request';
    case 'Unavailable':
      return 'storage unavailable';
    default:
      return 'failed';
  }
}

/** The HTTP status and the errno-style code of an error, looking through `cause` chains. */
function errorCodes(err: unknown): { status?: number; errno?: string } {
  const out: { status?: number; errno?: string } = {};
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const o = e as { code?: unknown; status?: unknown; response?: { status?: unknown }; cause?: unknown };
    if (out.status === undefined) {
      const s = typeof o.code === 'number' ? o.code : typeof o.status === 'number' ? o.status : o.response?.status;
      if (typeof s === 'number' && s >= 100) out.status = s;
    }
    if (out.errno === undefined && typeof o.code === 'string' && !/^\d+$/.test(o.code)) out.errno = o.code;
    e = o.cause;
  }
  return out;
}
