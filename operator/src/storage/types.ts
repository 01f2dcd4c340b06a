import type { Readable } from 'node:stream';

/** Metadata of one stored object. */
export interface ObjectInfo {
  /** Full URI, e.g. `gs://bucket/path/model.onnx` or `file:///abs/path/model.onnx`. */
  uri: string;
  sizeBytes: number;
  /** Last modification time, when the store reports one. */
  updated?: Date;
  /** A value that changes whenever the content changes (GCS generation/md5, file mtime+size). */
  etag?: string;
}

/** Why a storage call failed. `transient` errors are worth retrying with backoff; the others are not. */
export type StorageErrorCode =
  'NotFound' | 'PermissionDenied' | 'InvalidUri' | 'TooLarge' | 'ChecksumMismatch' | 'Unavailable' | 'Unknown';

export class StorageError extends Error {
  readonly code: StorageErrorCode;
  readonly uri: string;
  constructor(code: StorageErrorCode, uri: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageError';
    this.code = code;
    this.uri = uri;
  }
  /** True when retrying later may succeed (network errors, 5xx, 429). */
  get transient(): boolean {
    return this.code === 'Unavailable' || this.code === 'Unknown';
  }
}

/** One artifact store. Implementations: `gs://` (@google-cloud/storage) and `file://`. */
export interface ArtifactStore {
  /** Streams an object's bytes. The stream errors with a StorageError. */
  read(uri: string): Promise<Readable>;
  stat(uri: string): Promise<ObjectInfo>;
  /** Writes an object, replacing any existing one. */
  write(uri: string, data: Readable | Uint8Array | string): Promise<void>;
  /** Lists the objects under a prefix (recursive), in lexical order of URI. */
  list(prefixUri: string): AsyncIterable<ObjectInfo>;
}

/** The bytes read do not have the sha256 that the caller expected (e.g. ModelVersion spec.artifact.sha256). */
export class ChecksumMismatchError extends StorageError {
  readonly expectedSha256: string;
  readonly actualSha256: string;
  constructor(uri: string, expectedSha256: string, actualSha256: string) {
    super('ChecksumMismatch', uri, `sha256 mismatch for ${uri}: expected ${expectedSha256}, got ${actualSha256}`);
    this.name = 'ChecksumMismatchError';
    this.expectedSha256 = expectedSha256;
    this.actualSha256 = actualSha256;
  }
}
