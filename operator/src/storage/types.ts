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
export type StorageErrorCode = 'NotFound' | 'PermissionDenied' | 'InvalidUri' | 'TooLarge' | 'Unavailable' | 'Unknown';

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
