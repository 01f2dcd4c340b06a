import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Transform, Writable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ChecksumMismatchError, StorageError, type ArtifactStore } from './types.ts';

export interface DownloadOptions {
  /** Lower-case hex sha256 the bytes must have (an optional `sha256:` prefix is accepted). */
  expectedSha256?: string;
  /** Fails with StorageError `TooLarge` as soon as more bytes than this arrive (checked before reading, too). */
  maxBytes?: number;
  signal?: AbortSignal;
}

export interface DownloadResult {
  /** Lower-case hex sha256 of the bytes written. */
  sha256: string;
  sizeBytes: number;
}

/**
 * Streams `uri` into `destPath`, hashing while streaming, and moves the file into place only when it is whole
 * and verified: on any failure `destPath` is left untouched and no partial file remains.
 */
export async function downloadVerified(
  store: ArtifactStore,
  uri: string,
  destPath: string,
  options: DownloadOptions = {},
): Promise<DownloadResult> {
  const expected = options.expectedSha256 === undefined ? undefined : normalizeSha256(uri, options.expectedSha256);
  const { maxBytes } = options;
  if (maxBytes !== undefined) {
    const info = await store.stat(uri);
    if (info.sizeBytes > maxBytes) throw tooLarge(uri, info.sizeBytes, maxBytes);
  }
  const meter = new HashMeter(uri, maxBytes);
  const tmp = join(dirname(destPath), `.${basename(destPath)}.tmp-${randomBytes(6).toString('hex')}`);
  await mkdir(dirname(destPath), { recursive: true });
  try {
    const source = await store.read(uri);
    await pipeline(source, meter, createWriteStream(tmp, { flags: 'wx' }), { signal: options.signal });
    const result = { sha256: meter.digest(), sizeBytes: meter.bytes };
    if (expected !== undefined && result.sha256 !== expected) {
      throw new ChecksumMismatchError(uri, expected, result.sha256);
    }
    await rename(tmp, destPath);
    return result;
  } catch (err) {
    await rm(tmp, { force: true });
    if (err instanceof StorageError) throw err;
    // Errors of the local file (disk full, permissions) are not the store's, but callers handle one type.
    throw new StorageError('Unknown', uri, `download ${uri} to a local file failed`, { cause: err });
  }
}

/** Streams `uri` through sha256 without keeping it: {sha256, sizeBytes}. */
export async function digestObject(
  store: ArtifactStore,
  uri: string,
  options: { maxBytes?: number; signal?: AbortSignal } = {},
): Promise<DownloadResult> {
  const meter = new HashMeter(uri, options.maxBytes);
  const source = await store.read(uri);
  await pipeline(source, meter, new Writable({ write: (_chunk, _enc, cb) => cb() }), { signal: options.signal });
  return { sha256: meter.digest(), sizeBytes: meter.bytes };
}

/** A pass-through that hashes and counts bytes and stops the stream past a size limit. */
export class HashMeter extends Transform {
  readonly #hash = createHash('sha256');
  readonly #uri: string;
  readonly #maxBytes: number | undefined;
  bytes = 0;

  constructor(uri: string, maxBytes?: number) {
    super();
    this.#uri = uri;
    this.#maxBytes = maxBytes;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.#maxBytes !== undefined && this.bytes > this.#maxBytes) {
      cb(tooLarge(this.#uri, this.bytes, this.#maxBytes));
      return;
    }
    this.#hash.update(chunk);
    cb(null, chunk);
  }

  digest(): string {
    return this.#hash.digest('hex');
  }
}

function tooLarge(uri: string, size: number, maxBytes: number): StorageError {
  return new StorageError('TooLarge', uri, `${uri} is larger than the limit of ${maxBytes} bytes (${size}+ bytes)`);
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

function normalizeSha256(uri: string, value: string): string {
  const v = value
    .trim()
    .toLowerCase()
    .replace(/^sha256:/, '');
  if (!SHA256_HEX.test(v)) {
    throw new ChecksumMismatchError(uri, value, '(not checked: the expected value is not a 64-digit hex sha256)');
  }
  return v;
}
