import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ChecksumMismatchError, downloadVerified, digestObject, FileStore, StorageError, storeFor } from './index.ts';

let dir: string;
const url = (...p: string[]): string => pathToFileURL(join(dir, ...p)).href;
const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlops-storage-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function readAll(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(StorageError);
    return (err as StorageError).code;
  }
  return 'resolved';
}

describe('FileStore', () => {
  const store = new FileStore();

  it.each([
    ['a string', 'hello'],
    ['bytes', new Uint8Array([1, 2, 3, 255])],
    ['a stream', Readable.from([Buffer.from('ab'), Buffer.from('cd')])],
  ])('writes %s atomically and reads it back', async (_what, data) => {
    const uri = url('nested', 'deep', 'obj.bin');
    const expected =
      typeof data === 'string'
        ? Buffer.from(data)
        : data instanceof Uint8Array
          ? Buffer.from(data)
          : Buffer.from('abcd');
    await store.write(uri, data);
    expect(await readAll(await store.read(uri))).toEqual(expected);
    const info = await store.stat(uri);
    expect(info).toMatchObject({ uri, sizeBytes: expected.length });
    expect(info.etag).toBeTypeOf('string');
    expect(await readdir(join(dir, 'nested', 'deep'))).toEqual(['obj.bin']); // no temp file left
  });

  it('fails a failed streamed write without replacing the old object', async () => {
    const uri = url('obj');
    await store.write(uri, 'old');
    const failing = new Readable({
      read() {
        this.push(Buffer.from('partial'));
        this.destroy(new Error('source broke'));
      },
    });
    await expect(store.write(uri, failing)).rejects.toThrow();
    expect((await readFile(join(dir, 'obj'))).toString()).toBe('old');
    expect(await readdir(dir)).toEqual(['obj']);
  });

  it.each([
    ['a missing file', () => url('missing'), 'NotFound'],
    ['a directory', () => url(''), 'NotFound'],
    ['a relative file URI', () => 'file:relative/x', 'InvalidUri'],
    ['another scheme', () => 's3://bucket/x', 'InvalidUri'],
  ])('read and stat of %s fail with %s', async (_what, uri, code) => {
    expect(await codeOf(store.read(uri()))).toBe(code);
    expect(await codeOf(store.stat(uri()))).toBe(code);
  });

  it('lists recursively under a directory or a name prefix, in lexical URI order', async () => {
    await mkdir(join(dir, 'raw', 'b'), { recursive: true });
    await writeFile(join(dir, 'raw', 'part-2'), '22');
    await writeFile(join(dir, 'raw', 'part-1'), '1');
    await writeFile(join(dir, 'raw', 'b', 'x'), 'xxx');
    await writeFile(join(dir, 'other'), 'o');
    const list = async (u: string): Promise<Array<[string, number]>> => {
      const out: Array<[string, number]> = [];
      for await (const o of store.list(u)) out.push([o.uri, o.sizeBytes]);
      return out;
    };
    expect(await list(url('raw') + '/')).toEqual([
      [url('raw', 'b', 'x'), 3],
      [url('raw', 'part-1'), 1],
      [url('raw', 'part-2'), 2],
    ]);
    expect(await list(url('raw', 'part-'))).toEqual([
      [url('raw', 'part-1'), 1],
      [url('raw', 'part-2'), 2],
    ]);
    expect(await list(url('nothing-here') + '/')).toEqual([]);
  });
});

describe('downloadVerified (file://)', () => {
  const body = Buffer.alloc(3 * 1024 * 1024 + 17, 7);

  it('streams, hashes and moves the file into place', async () => {
    await writeFile(join(dir, 'model.onnx'), body);
    const dest = join(dir, 'out', 'model.onnx');
    const res = await downloadVerified(storeFor(url('model.onnx')), url('model.onnx'), dest, {
      expectedSha256: 'SHA256:' + sha(body).toUpperCase(),
      maxBytes: body.length,
    });
    expect(res).toEqual({ sha256: sha(body), sizeBytes: body.length });
    expect(sha(await readFile(dest))).toBe(sha(body));
    expect(await digestObject(new FileStore(), url('model.onnx'))).toEqual(res);
  });

  it('fails a sha256 mismatch clearly and leaves no file', async () => {
    await writeFile(join(dir, 'model.onnx'), body);
    const dest = join(dir, 'out', 'model.onnx');
    const wrong = sha('something else');
    const err = await downloadVerified(new FileStore(), url('model.onnx'), dest, { expectedSha256: wrong }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ChecksumMismatchError);
    expect(err).toMatchObject({
      code: 'ChecksumMismatch',
      expectedSha256: wrong,
      actualSha256: sha(body),
      transient: false,
    });
    expect((err as Error).message).toContain(`expected ${wrong}, got ${sha(body)}`);
    expect(await readdir(join(dir, 'out'))).toEqual([]);
  });

  it('rejects a malformed expected sha256 as a mismatch', async () => {
    await writeFile(join(dir, 'm'), 'x');
    await expect(
      downloadVerified(new FileStore(), url('m'), join(dir, 'o'), { expectedSha256: 'abc' }),
    ).rejects.toBeInstanceOf(ChecksumMismatchError);
  });

  it('fails with TooLarge past maxBytes, permanent, and leaves no file', async () => {
    await writeFile(join(dir, 'model.onnx'), body);
    const err = await downloadVerified(new FileStore(), url('model.onnx'), join(dir, 'out', 'm'), {
      maxBytes: body.length - 1,
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TooLarge', transient: false });
    expect(await readdir(dir)).toEqual(['model.onnx']);
  });

  it('enforces maxBytes while streaming, not only from stat', async () => {
    // An object that grows after stat: the meter still stops it.
    await writeFile(join(dir, 'm'), body);
    const store = new FileStore();
    const lying = {
      ...store,
      stat: (u: string) => Promise.resolve({ uri: u, sizeBytes: 1 }),
      read: (u: string) => store.read(u),
    };
    const err = await downloadVerified(lying as FileStore, url('m'), join(dir, 'o'), { maxBytes: 1024 }).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'TooLarge' });
    expect(await readdir(dir)).toEqual(['m']);
  });

  it('fails NotFound for a missing object', async () => {
    expect(await codeOf(downloadVerified(new FileStore(), url('none'), join(dir, 'o')))).toBe('NotFound');
  });
});
