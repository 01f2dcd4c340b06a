import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Storage } from '@google-cloud/storage';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  ChecksumMismatchError,
  downloadVerified,
  GcsStore,
  StorageError,
  storeFor,
  type GcsOptions,
} from '../operator/src/storage/index.ts';
import { uniqueName } from './support/cluster.ts';
import { freePort } from './support/net.ts';

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

async function readAll(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function failure(p: Promise<unknown>): Promise<StorageError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StorageError);
  return err as StorageError;
}

describe('gs:// against fake-gcs-server', () => {
  const gcs: GcsOptions = { apiEndpoint: inject('cluster').gcsEndpoint, projectId: 'test', maxRetries: 0 };
  const bucket = uniqueName('gate');
  const store = new GcsStore(gcs);
  let dir: string;

  beforeAll(async () => {
    await new Storage({ apiEndpoint: gcs.apiEndpoint!, projectId: 'test' }).createBucket(bucket);
    dir = await mkdtemp(join(tmpdir(), 'mlops-gcs-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes strings, bytes and streams and reads them back streamed', async () => {
    const big = Buffer.alloc(5 * 1024 * 1024 + 3, 0x5a); // several chunks
    const cases: Array<[string, string | Uint8Array | Readable, Buffer]> = [
      ['s.txt', 'hello', Buffer.from('hello')],
      ['b.bin', new Uint8Array([0, 1, 2, 250]), Buffer.from([0, 1, 2, 250])],
      ['big/stream.bin', Readable.from([big.subarray(0, 1000), big.subarray(1000)]), big],
    ];
    for (const [key, data, want] of cases) {
      const uri = `gs://${bucket}/${key}`;
      await store.write(uri, data);
      expect(sha(await readAll(await store.read(uri)))).toBe(sha(want));
      const info = await store.stat(uri);
      expect(info).toMatchObject({ uri, sizeBytes: want.length });
      expect(info.etag).toBeTruthy();
      expect(info.updated).toBeInstanceOf(Date);
    }
  });

  it('storeFor picks the GCS store and shares one client per options object', () => {
    expect(storeFor(`gs://${bucket}/x`, { gcs })).toBe(storeFor(`gs://${bucket}/y`, { gcs }));
    expect(storeFor(`gs://${bucket}/x`, { gcs })).toBeInstanceOf(GcsStore);
  });

  it('lists a prefix recursively in lexical order', async () => {
    for (const k of ['runs/r2/model.onnx', 'runs/r1/model.onnx', 'runs/r1/metrics.json', 'other/x']) {
      await store.write(`gs://${bucket}/${k}`, k);
    }
    const got: string[] = [];
    for await (const o of store.list(`gs://${bucket}/runs/`)) got.push(o.uri);
    expect(got).toEqual([
      `gs://${bucket}/runs/r1/metrics.json`,
      `gs://${bucket}/runs/r1/model.onnx`,
      `gs://${bucket}/runs/r2/model.onnx`,
    ]);
  });

  it('downloadVerified verifies sha256 and size while streaming', async () => {
    const body = Buffer.alloc(2 * 1024 * 1024 + 5, 3);
    const uri = `gs://${bucket}/model.onnx`;
    await store.write(uri, body);
    const dest = join(dir, 'ok', 'model.onnx');
    expect(await downloadVerified(store, uri, dest, { expectedSha256: sha(body), maxBytes: body.length })).toEqual({
      sha256: sha(body),
      sizeBytes: body.length,
    });
    expect(sha(await readFile(dest))).toBe(sha(body));

    const mismatch = await failure(downloadVerified(store, uri, join(dir, 'bad', 'm'), { expectedSha256: sha('x') }));
    expect(mismatch).toBeInstanceOf(ChecksumMismatchError);
    expect(mismatch.message).toMatch(/sha256 mismatch .* expected [0-9a-f]{64}, got [0-9a-f]{64}/);
    expect(mismatch.transient).toBe(false);
    expect(await readdir(join(dir, 'bad'))).toEqual([]);

    const big = await failure(downloadVerified(store, uri, join(dir, 'big', 'm'), { maxBytes: 1024 }));
    expect(big.code).toBe('TooLarge');
    expect(big.transient).toBe(false);
  });

  it('reports a missing object or bucket as NotFound, permanent', async () => {
    for (const uri of [`gs://${bucket}/nope`, `gs://${bucket}-missing/x`]) {
      for (const call of [
        () => store.read(uri),
        () => store.stat(uri),
        () => downloadVerified(store, uri, join(dir, 'nf')),
      ]) {
        const err = await failure(call());
        expect(err.code).toBe('NotFound');
        expect(err.transient).toBe(false);
        expect(err.uri).toBe(uri);
      }
    }
  });

  it('rejects a prefix where an object is needed', async () => {
    expect((await failure(store.stat(`gs://${bucket}/runs/`))).code).toBe('InvalidUri');
  });

  it('reports an endpoint where nothing listens as Unavailable, transient', async () => {
    // A port that was just free: bind, note it, close.
    const port = await freePort();
    const dead = new GcsStore({ apiEndpoint: `http://127.0.0.1:${port}`, projectId: 'test', maxRetries: 0 });
    const uri = `gs://${bucket}/model.onnx`;
    for (const call of [
      () => dead.stat(uri),
      () => dead.read(uri),
      () => downloadVerified(dead, uri, join(dir, 'd')),
    ]) {
      const err = await failure(call());
      expect(err.code).toBe('Unavailable');
      expect(err.transient).toBe(true);
    }
  });
});
