import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parse } from 'csv-parse';
import { asyncBufferFromFile, parquetMetadataAsync, parquetSchema, parquetScan } from 'hyparquet';
import { fileContainsByte, readCsvFast } from './csv-fast.ts';
import { EvaluationError } from './errors.ts';

export type DatasetFormat = 'csv' | 'jsonl' | 'parquet';

/** One cell as a reader yields it: CSV cells are strings (empty = null), JSONL and Parquet keep their types. */
export type Cell = string | number | boolean | bigint | null | undefined;

/** A column-major slice of the dataset: `columns.get(name)[i]` is row i of the batch. */
export interface Batch {
  length: number;
  columns: Map<string, ArrayLike<Cell>>;
}

export interface ReadOptions {
  /** Rows per batch (default 4096). Memory is bounded by one batch (one row group for Parquet). */
  batchSize?: number;
  /** Only these columns are kept (all when absent). Missing ones fail with `MissingColumn`. */
  columns?: readonly string[];
  /**
   * Columns the caller reads as numbers: the fast CSV path parses them while scanning (numbers where the text is
   * numeric, the text otherwise). Other readers and columns keep their cells as they are.
   */
  numericColumns?: ReadonlySet<string>;
  /** Float64Arrays of `batchSize` the caller is done with, for the fast CSV path to fill again. */
  pool?: Float64Array[];
}

/** The column names of a dataset, in file order. */
export async function readColumnNames(path: string, format: DatasetFormat): Promise<string[]> {
  switch (format) {
    case 'csv': {
      const parser = createReadStream(path).pipe(parse({ to_line: 1, bom: true, relax_column_count: true }));
      for await (const rec of parser as AsyncIterable<string[]>) {
        parser.destroy();
        return rec.map((s) => s.trim());
      }
      return [];
    }
    case 'jsonl': {
      const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
      for await (const line of lines) {
        if (line.trim() === '') continue;
        lines.close();
        return Object.keys(parseJsonLine(line, 1));
      }
      return [];
    }
    case 'parquet': {
      const file = await asyncBufferFromFile(path);
      const metadata = await parquetMetadataAsync(file).catch((err: unknown) => {
        throw new EvaluationError('InvalidData', `not a readable Parquet file: ${(err as Error).message}`, {
          cause: err,
        });
      });
      return parquetSchema(metadata).children.map((c) => c.element.name);
    }
  }
}

/** Streams a dataset as column-major batches; never holds the whole file. */
export function readBatches(path: string, format: DatasetFormat, options: ReadOptions = {}): AsyncGenerator<Batch> {
  const batchSize = options.batchSize ?? 4096;
  switch (format) {
    case 'csv':
      return readCsvAuto(path, batchSize, options.columns, options.numericColumns ?? new Set(), options.pool);
    case 'jsonl':
      return readJsonl(path, batchSize, options.columns);
    case 'parquet':
      return readParquet(path, batchSize, options.columns);
  }
}

function missing(name: string, have: readonly string[]): EvaluationError {
  return new EvaluationError(
    'MissingColumn',
    `column "${name}" is not in the dataset (columns: ${have.slice(0, 20).join(', ')}${have.length > 20 ? ', ...' : ''})`,
  );
}

/** The fast reader for files without quotes (most machine-written CSV), csv-parse for the rest. */
async function* readCsvAuto(
  path: string,
  batchSize: number,
  wanted: readonly string[] | undefined,
  numeric: ReadonlySet<string>,
  pool: Float64Array[] | undefined,
): AsyncGenerator<Batch> {
  if (await fileContainsByte(path, 0x22)) yield* readCsv(path, batchSize, wanted);
  else yield* readCsvFast(path, batchSize, wanted, numeric, pool);
}

async function* readCsv(path: string, batchSize: number, wanted?: readonly string[]): AsyncGenerator<Batch> {
  const parser = createReadStream(path, { highWaterMark: 1 << 20 }).pipe(
    parse({ bom: true, skip_empty_lines: true, relax_quotes: false }),
  );
  let names: string[] | undefined;
  let picks: Array<[string, number]> = [];
  let cols: Cell[][] = [];
  let n = 0;
  const fresh = (): void => {
    cols = picks.map(() => new Array<Cell>(batchSize));
    n = 0;
  };
  const emit = (): Batch => {
    const columns = new Map<string, ArrayLike<Cell>>();
    picks.forEach(([name], j) => columns.set(name, n === batchSize ? cols[j]! : cols[j]!.slice(0, n)));
    return { length: n, columns };
  };
  try {
    for await (const rec of parser as AsyncIterable<string[]>) {
      if (names === undefined) {
        names = rec.map((s) => s.trim());
        const header = names;
        picks = (wanted ?? header).map((w) => {
          const i = header.indexOf(w);
          if (i < 0) throw missing(w, header);
          return [w, i];
        });
        fresh();
        continue;
      }
      for (let j = 0; j < picks.length; j++) {
        const v = rec[picks[j]![1]];
        cols[j]![n] = v === undefined || v === '' ? null : v;
      }
      if (++n === batchSize) {
        yield emit();
        fresh();
      }
    }
  } catch (err) {
    if (err instanceof EvaluationError) throw err;
    throw new EvaluationError('InvalidData', `CSV parse error: ${(err as Error).message}`, { cause: err });
  } finally {
    parser.destroy();
  }
  if (n > 0) yield emit();
}

function parseJsonLine(line: string, lineNo: number): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (err) {
    throw new EvaluationError('InvalidData', `JSONL line ${lineNo} is not JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new EvaluationError('InvalidData', `JSONL line ${lineNo} is not a JSON object`);
  }
  return v as Record<string, unknown>;
}

async function* readJsonl(path: string, batchSize: number, wanted?: readonly string[]): AsyncGenerator<Batch> {
  const lines = createInterface({ input: createReadStream(path, { highWaterMark: 1 << 20 }), crlfDelay: Infinity });
  let names: readonly string[] | undefined = wanted;
  let cols: Cell[][] = [];
  let n = 0;
  let lineNo = 0;
  const emit = (): Batch => {
    const columns = new Map<string, ArrayLike<Cell>>();
    names!.forEach((name, j) => columns.set(name, cols[j]!.slice(0, n)));
    return { length: n, columns };
  };
  try {
    for await (const line of lines) {
      lineNo++;
      if (line.trim() === '') continue;
      const obj = parseJsonLine(line, lineNo);
      if (names === undefined) names = Object.keys(obj);
      if (n === 0) cols = names.map(() => new Array<Cell>(batchSize));
      for (let j = 0; j < names.length; j++) {
        const name = names[j]!;
        if (!(name in obj)) {
          if (lineNo === 1 || wanted !== undefined) throw missing(name, Object.keys(obj));
        }
        const v = obj[name];
        cols[j]![n] = v === undefined || v === null ? null : typeof v === 'object' ? JSON.stringify(v) : (v as Cell);
      }
      if (++n === batchSize) {
        yield emit();
        n = 0;
      }
    }
  } finally {
    lines.close();
  }
  if (n > 0) yield emit();
}

async function* readParquet(path: string, batchSize: number, wanted?: readonly string[]): AsyncGenerator<Batch> {
  const file = await asyncBufferFromFile(path);
  let scan;
  try {
    const metadata = await parquetMetadataAsync(file);
    const names = parquetSchema(metadata).children.map((c) => c.element.name);
    for (const w of wanted ?? []) if (!names.includes(w)) throw missing(w, names);
    scan = await parquetScan({ file, metadata, columns: [...(wanted ?? names)] });
  } catch (err) {
    if (err instanceof EvaluationError) throw err;
    throw new EvaluationError('InvalidData', `not a readable Parquet file: ${(err as Error).message}`, { cause: err });
  }
  const names = wanted ?? parquetSchema(scan.metadata).children.map((c) => c.element.name);
  // Ranges are row groups: one is decoded at a time, then cut into batches.
  for (const range of scan.ranges) {
    const data = new Map<string, ArrayLike<Cell>>();
    for (const name of names) {
      data.set(name, (await scan.readColumn({ column: name, ...range })) as ArrayLike<Cell>);
    }
    const rows = range.rowEnd - range.rowStart;
    for (let start = 0; start < rows; start += batchSize) {
      const end = Math.min(rows, start + batchSize);
      const columns = new Map<string, ArrayLike<Cell>>();
      for (const [name, col] of data) columns.set(name, sliceOf(col, start, end));
      yield { length: end - start, columns };
    }
  }
}

function sliceOf(col: ArrayLike<Cell>, start: number, end: number): ArrayLike<Cell> {
  const c = col as ArrayLike<Cell> & { subarray?: (s: number, e: number) => ArrayLike<Cell>; slice?: unknown };
  if (typeof c.subarray === 'function') return c.subarray(start, end);
  return Array.prototype.slice.call(col, start, end) as Cell[];
}
