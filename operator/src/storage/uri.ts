import { fileURLToPath } from 'node:url';
import { StorageError } from './types.ts';

/** A parsed artifact URI: `gs://bucket/key` or `file:///absolute/path`. */
export type ParsedUri = { scheme: 'gs'; bucket: string; key: string } | { scheme: 'file'; path: string };

/** GCS bucket names: 3-63 (222 with dots) characters of lower-case letters, digits, `-`, `_` and `.`. */
const BUCKET = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;

/**
 * Parses an artifact URI. A `gs://` key may be empty (the bucket root, for prefixes); a `file://` URI must be
 * absolute (`file:///...`). Throws StorageError `InvalidUri` for anything else.
 */
export function parseUri(uri: string): ParsedUri {
  if (uri.startsWith('gs://')) {
    const rest = uri.slice('gs://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    const key = slash < 0 ? '' : rest.slice(slash + 1);
    if (!BUCKET.test(bucket)) throw new StorageError('InvalidUri', uri, `invalid GCS bucket name in ${uri}`);
    return { scheme: 'gs', bucket, key };
  }
  if (uri.startsWith('file://')) {
    let path: string;
    try {
      path = fileURLToPath(uri);
    } catch (err) {
      throw new StorageError('InvalidUri', uri, `invalid file URI ${uri}: use file:///absolute/path`, { cause: err });
    }
    return { scheme: 'file', path };
  }
  throw new StorageError('InvalidUri', uri, `unsupported artifact URI ${uri}: expected gs:// or file://`);
}

/** The URI of a GCS object. */
export function gsUri(bucket: string, key: string): string {
  return `gs://${bucket}/${key}`;
}
