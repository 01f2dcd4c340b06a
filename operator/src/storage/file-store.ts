import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, opendir, rename, rm, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { parseUri } from './uri.ts';
import { StorageError, type ArtifactStore, type ObjectInfo, type StorageErrorCode } from './types.ts';

/**
 * `file://` artifacts: local paths, for development, tests and volumes mounted into the operator's pod.
 * Writes go to a temporary file in the same directory and are renamed into place, so a reader never sees half
 * an object.
 */
export class FileStore implements ArtifactStore {
  async read(uri: string): Promise<Readable> {
    const path = filePath(uri);
    // Opening first turns "no such file" into a rejected promise instead of a stream error later.
    const handle = await open(path, 'r').catch((err: unknown) => {
      throw fsError(uri, err, 'read');
    });
    const info = await handle.stat().catch(async (err: unknown) => {
      await handle.close();
      throw fsError(uri, err, 'read');
    });
    if (!info.isFile()) {
      await handle.close();
      throw new StorageError('NotFound', uri, `${uri} is not a file`);
    }
    // The stream owns the FileHandle itself: handing it the raw fd number would leave the FileHandle to close that
    // number again on garbage collection, by then possibly reused by a socket or an epoll instance.
    const stream = createReadStream(path, { fd: handle, autoClose: true, highWaterMark: 1 << 20 });
    return mapStreamErrors(stream, (err) => fsError(uri, err, 'read'));
  }

  async stat(uri: string): Promise<ObjectInfo> {
    const path = filePath(uri);
    const info = await stat(path).catch((err: unknown) => {
      throw fsError(uri, err, 'stat');
    });
    if (!info.isFile()) throw new StorageError('NotFound', uri, `${uri} is not a file`);
    return { uri, sizeBytes: info.size, updated: info.mtime, etag: `${info.mtimeMs}-${info.size}` };
  }

  async write(uri: string, data: Readable | Uint8Array | string): Promise<void> {
    const path = filePath(uri);
    const tmp = join(dirname(path), `.${basename(path)}.tmp-${randomBytes(6).toString('hex')}`);
    try {
      await mkdir(dirname(path), { recursive: true });
      const source =
        data instanceof Readable ? data : Readable.from([typeof data === 'string' ? Buffer.from(data) : data]);
      await pipeline(source, createWriteStream(tmp, { flags: 'wx' }));
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err instanceof StorageError ? err : fsError(uri, err, 'write');
    }
  }

  async *list(prefixUri: string): AsyncIterable<ObjectInfo> {
    const prefix = filePath(prefixUri);
    const root = prefix.endsWith('/') ? prefix : dirname(prefix);
    const found: ObjectInfo[] = [];
    await walk(root, async (path) => {
      if (!path.startsWith(prefix)) return;
      const info = await stat(path).catch(() => undefined); // removed while listing: skip it
      if (info?.isFile()) {
        found.push({
          uri: pathToFileURL(path).href,
          sizeBytes: info.size,
          updated: info.mtime,
          etag: `${info.mtimeMs}-${info.size}`,
        });
      }
    }).catch((err: unknown) => {
      throw fsError(prefixUri, err, 'list');
    });
    found.sort((a, b) => (a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : 0));
    yield* found;
  }
}

async function walk(dir: string, visit: (path: string) => Promise<void>): Promise<void> {
  let entries;
  try {
    entries = await opendir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // like an empty GCS prefix
    throw err;
  }
  for await (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) await walk(path, visit);
    else if (!e.name.includes('.tmp-')) await visit(path); // skip half-written files of write()
  }
}

function filePath(uri: string): string {
  const parsed = parseUri(uri);
  if (parsed.scheme !== 'file') throw new StorageError('InvalidUri', uri, `FileStore cannot handle ${uri}`);
  // fileURLToPath drops a trailing slash of a directory prefix only when there is none; keep the caller's intent.
  return uri.endsWith('/') && !parsed.path.endsWith('/') ? parsed.path + '/' : parsed.path;
}

const FS_CODES: Record<string, StorageErrorCode> = {
  ENOENT: 'NotFound',
  ENOTDIR: 'NotFound',
  EISDIR: 'NotFound',
  EACCES: 'PermissionDenied',
  EPERM: 'PermissionDenied',
  EROFS: 'PermissionDenied',
  EMFILE: 'Unavailable',
  ENFILE: 'Unavailable',
  EAGAIN: 'Unavailable',
  EBUSY: 'Unavailable',
  EIO: 'Unavailable',
  ENOSPC: 'Unavailable',
  ESTALE: 'Unavailable',
};

function fsError(uri: string, err: unknown, op: string): StorageError {
  if (err instanceof StorageError) return err;
  const errno = (err as NodeJS.ErrnoException | undefined)?.code ?? '';
  const code = FS_CODES[errno] ?? 'Unknown';
  const what = code === 'NotFound' ? 'not found' : errno || 'failed';
  return new StorageError(code, uri, `${op} ${uri}: ${what}`, { cause: err });
}

/** Re-emits a stream's errors as StorageErrors, so every consumer sees one error type. */
export function mapStreamErrors(stream: Readable, map: (err: unknown) => StorageError): Readable {
  const out = new Readable({
    highWaterMark: stream.readableHighWaterMark,
    read() {
      stream.resume();
    },
    destroy(err, cb) {
      stream.destroy();
      cb(err);
    },
  });
  stream.on('data', (chunk: Buffer) => {
    if (!out.push(chunk)) stream.pause();
  });
  stream.on('end', () => out.push(null));
  stream.on('error', (err) => out.destroy(map(err)));
  stream.pause();
  return out;
}
