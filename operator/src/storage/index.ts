import { FileStore } from './file-store.ts';
import { GcsStore, type GcsOptions } from './gcs-store.ts';
import { parseUri } from './uri.ts';
import type { ArtifactStore } from './types.ts';

export { ChecksumMismatchError, StorageError } from './types.ts';
export type { ArtifactStore, ObjectInfo, StorageErrorCode } from './types.ts';
export { downloadVerified, digestObject, HashMeter } from './download.ts';
export type { DownloadOptions, DownloadResult } from './download.ts';
export { FileStore } from './file-store.ts';
export { GcsStore, gcsError } from './gcs-store.ts';
export type { GcsOptions } from './gcs-store.ts';
export { parseUri, gsUri } from './uri.ts';
export type { ParsedUri } from './uri.ts';

export interface StoreOptions {
  gcs?: GcsOptions;
}

const fileStore = new FileStore();
const gcsStores = new WeakMap<object, GcsStore>();
const defaultGcsOptions: GcsOptions = {};

/**
 * The store for a URI's scheme. One GCS client is kept per `options.gcs` object (pass the same object to share
 * its connections); `file://` needs no options. Throws StorageError `InvalidUri` for other schemes.
 */
export function storeFor(uri: string, options: StoreOptions = {}): ArtifactStore {
  const parsed = parseUri(uri);
  if (parsed.scheme === 'file') return fileStore;
  const gcs = options.gcs ?? defaultGcsOptions;
  let store = gcsStores.get(gcs);
  if (!store) {
    store = new GcsStore(gcs);
    gcsStores.set(gcs, store);
  }
  return store;
}
