import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBatches, readColumnNames, type Batch, type DatasetFormat } from './dataset.ts';
import { EvaluationError } from './errors.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlops-dataset-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, text);
  return p;
}

async function collect(path: string, format: DatasetFormat, opts: Parameters<typeof readBatches>[2] = {}) {
  const batches: Batch[] = [];
  for await (const b of readBatches(path, format, opts)) batches.push(b);
  const rows = (col: string) => batches.flatMap((b) => Array.from(b.columns.get(col)!));
  return { sizes: batches.map((b) => b.length), rows };
}

describe('CSV', () => {
  // The same rows, unquoted (fast path) and with a quoted cell somewhere (csv-parse).
  const plain = '\ufeffa,b,label\r\n1,x,yes\r\n2.5,y,no\r\n,z,yes\r\n-0.125,w,no\r\n1e3,v,yes\r\n';
  const quoted = plain.replace('x,yes', '"x",yes');

  it.each([
    ['unquoted (fast path)', plain],
    ['quoted (csv-parse)', quoted],
  ])('%s: batches, header, BOM, CRLF, empty cells', async (name, text) => {
    const p = await file(`${name.split(' ')[0]}.csv`, text);
    expect(await readColumnNames(p, 'csv')).toEqual(['a', 'b', 'label']);
    const { sizes, rows } = await collect(p, 'csv', { batchSize: 2, numericColumns: new Set(['a']) });
    expect(sizes).toEqual([2, 2, 1]);
    expect(rows('b')).toEqual(['x', 'y', 'z', 'w', 'v']);
    expect(rows('label')).toEqual(['yes', 'no', 'yes', 'no', 'yes']);
    const a = rows('a').map((v) => (v === null || v === '' ? NaN : Number(v)));
    expect(a).toEqual([1, 2.5, NaN, -0.125, 1000]);
  });

  it('parses numbers exactly as Number() does, digits beyond the fast path included', async () => {
    const values = [
      '0.1',
      '0.3628993630409241',
      '-1.0154411792755127',
      '123456789012345',
      '1234567890123456789',
      '0.000001',
      '00012.50',
      '+3',
      '7.',
    ];
    const p = await file('numbers.csv', `x\n${values.join('\n')}\n`);
    const { rows } = await collect(p, 'csv', { numericColumns: new Set(['x']) });
    expect(rows('x')).toEqual(values.map(Number));
  });

  it('names the column and row of a non-numeric cell in a numeric column', async () => {
    const p = await file('bad.csv', 'x,y\n1,2\nabc,3\n');
    await expect(collect(p, 'csv', { numericColumns: new Set(['x']) })).rejects.toThrow(
      /column "x" row 2: "abc" is not a number/,
    );
  });

  it('rejects a row with the wrong number of fields', async () => {
    const p = await file('ragged.csv', 'x,y\n1,2\n3\n');
    const err = await collect(p, 'csv').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EvaluationError);
    expect((err as Error).message).toMatch(/row 2 has 1 fields, the header 2/);
  });

  it('keeps only the requested columns and fails on a missing one', async () => {
    const p = await file('cols.csv', 'a,b,c\n1,2,3\n');
    const { rows } = await collect(p, 'csv', { columns: ['c', 'a'] });
    expect(rows('c')).toEqual(['3']);
    await expect(collect(p, 'csv', { columns: ['d'] })).rejects.toMatchObject({ reason: 'MissingColumn' });
  });
});

describe('JSONL', () => {
  it('streams objects in batches and reports bad lines by number', async () => {
    const p = await file('a.jsonl', '{"x": 1, "s": "a"}\n\n{"x": 2.5, "s": null}\n{"x": 3, "s": "c"}\n');
    const { sizes, rows } = await collect(p, 'jsonl', { batchSize: 2 });
    expect(sizes).toEqual([2, 1]);
    expect(rows('x')).toEqual([1, 2.5, 3]);
    expect(rows('s')).toEqual(['a', null, 'c']);
    const bad = await file('b.jsonl', '{"x": 1}\n{oops\n');
    await expect(collect(bad, 'jsonl')).rejects.toThrow(/JSONL line 2 is not JSON/);
  });
});
