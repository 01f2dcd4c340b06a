/**
 * Open Inference Protocol v2 (KServe v2) data model: datatypes, tensors, request decoding (JSON and the binary tensor
 * data extension), validation against the model's metadata, and response encoding. Pure: no I/O.
 */

/** OIP tensor datatypes. */
export const DATATYPES = [
  'BOOL',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'FP16',
  'FP32',
  'FP64',
  'BYTES',
] as const;
export type Datatype = (typeof DATATYPES)[number];

/** onnxruntime tensor type names, as `Tensor.type` spells them. */
export type OrtType =
  | 'bool'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'float16'
  | 'float32'
  | 'float64'
  | 'string';

export type NumericArray =
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Float32Array
  | Float64Array;

/** Tensor elements, row-major. BOOL is a Uint8Array of 0/1, FP16 a Uint16Array of raw bits, BYTES a string array. */
export type TensorData = NumericArray | string[];

export interface Tensor {
  name: string;
  datatype: Datatype;
  shape: number[];
  data: TensorData;
}

/** `$metadata_tensor`: shape -1 marks a variable dimension. */
export interface TensorMetadata {
  name: string;
  datatype: Datatype;
  shape: number[];
}

interface TypeInfo {
  ort: OrtType;
  bytes: number; // 0 = variable (BYTES)
  make: (n: number) => TensorData;
  fromBytes?: (buf: ArrayBuffer) => NumericArray;
}

const TYPE_INFO: Record<Datatype, TypeInfo> = {
  BOOL: { ort: 'bool', bytes: 1, make: (n) => new Uint8Array(n), fromBytes: (b) => new Uint8Array(b) },
  UINT8: { ort: 'uint8', bytes: 1, make: (n) => new Uint8Array(n), fromBytes: (b) => new Uint8Array(b) },
  UINT16: { ort: 'uint16', bytes: 2, make: (n) => new Uint16Array(n), fromBytes: (b) => new Uint16Array(b) },
  UINT32: { ort: 'uint32', bytes: 4, make: (n) => new Uint32Array(n), fromBytes: (b) => new Uint32Array(b) },
  UINT64: { ort: 'uint64', bytes: 8, make: (n) => new BigUint64Array(n), fromBytes: (b) => new BigUint64Array(b) },
  INT8: { ort: 'int8', bytes: 1, make: (n) => new Int8Array(n), fromBytes: (b) => new Int8Array(b) },
  INT16: { ort: 'int16', bytes: 2, make: (n) => new Int16Array(n), fromBytes: (b) => new Int16Array(b) },
  INT32: { ort: 'int32', bytes: 4, make: (n) => new Int32Array(n), fromBytes: (b) => new Int32Array(b) },
  INT64: { ort: 'int64', bytes: 8, make: (n) => new BigInt64Array(n), fromBytes: (b) => new BigInt64Array(b) },
  FP16: { ort: 'float16', bytes: 2, make: (n) => new Uint16Array(n), fromBytes: (b) => new Uint16Array(b) },
  FP32: { ort: 'float32', bytes: 4, make: (n) => new Float32Array(n), fromBytes: (b) => new Float32Array(b) },
  FP64: { ort: 'float64', bytes: 8, make: (n) => new Float64Array(n), fromBytes: (b) => new Float64Array(b) },
  BYTES: { ort: 'string', bytes: 0, make: (n) => new Array<string>(n).fill('') },
};

const ORT_TO_DATATYPE = Object.fromEntries(
  Object.entries(TYPE_INFO).map(([dt, info]) => [info.ort, dt as Datatype]),
) as Record<OrtType, Datatype>;

export function isDatatype(v: unknown): v is Datatype {
  return typeof v === 'string' && (DATATYPES as readonly string[]).includes(v);
}

export function ortTypeOf(dt: Datatype): OrtType {
  return TYPE_INFO[dt].ort;
}

/** The OIP datatype of an onnxruntime tensor type, or undefined for types OIP cannot carry. */
export function datatypeOfOrt(t: string): Datatype | undefined {
  return (ORT_TO_DATATYPE as Record<string, Datatype | undefined>)[t];
}

/** Bytes per element, 0 for BYTES. */
export function elementBytes(dt: Datatype): number {
  return TYPE_INFO[dt].bytes;
}

export function allocate(dt: Datatype, n: number): TensorData {
  return TYPE_INFO[dt].make(n);
}

export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** A client error: answered 400 with the message. */
export class InvalidInputError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InvalidInputError';
  }
}

/** `[-1,16]` style rendering used in error messages. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

function expected(meta: TensorMetadata): string {
  return `expected datatype ${meta.datatype} and shape ${formatShape(meta.shape)}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Requests

export type ParameterValue = string | number | boolean;
export type Parameters = Record<string, ParameterValue>;

export interface RequestedOutput {
  name: string;
  binary: boolean;
}

/** A decoded inference request: tensors in the model's input order, and which outputs to return in which form. */
export interface DecodedRequest {
  id?: string;
  inputs: Tensor[];
  /** The outputs to return, in response order. */
  outputs: RequestedOutput[];
  /** Rows along the batch dimension (1 when the model has no batch dimension). */
  rows: number;
}

export interface DecodeOptions {
  inputs: readonly TensorMetadata[];
  outputs: readonly TensorMetadata[];
  /** > 0: the model has a leading batch dimension and a request may carry at most this many rows. */
  maxBatchSize: number;
  /** Length of the JSON part when the body uses the binary tensor data extension; undefined = all JSON. */
  headerLength?: number | undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new InvalidInputError(`request body is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Decodes an OIP v2 inference request body and validates it against the model's inputs and outputs: every model
 * input present exactly once, datatype equal, rank equal, fixed dimensions equal, element count equal to the shape,
 * the batch dimension within `maxBatchSize`. Throws InvalidInputError naming the tensor and what was expected.
 */
export function decodeInferRequest(body: Buffer, opts: DecodeOptions): DecodedRequest {
  const jsonEnd = opts.headerLength ?? body.length;
  if (opts.headerLength !== undefined && (opts.headerLength < 0 || opts.headerLength > body.length)) {
    throw new InvalidInputError(
      `Inference-Header-Content-Length ${opts.headerLength} exceeds the body length ${body.length}`,
    );
  }
  return decodeInferObject(parseJson(body.toString('utf8', 0, jsonEnd)), body, opts);
}

/**
 * decodeInferRequest for an already parsed JSON part; `body` holds the binary part after `opts.headerLength`
 * bytes (pass an empty buffer when there is none).
 */
export function decodeInferObject(req: unknown, body: Buffer, opts: DecodeOptions): DecodedRequest {
  const jsonEnd = opts.headerLength ?? body.length;
  if (!isObject(req)) throw new InvalidInputError('request body must be a JSON object');
  let id: string | undefined;
  if (req['id'] !== undefined) {
    if (typeof req['id'] !== 'string') throw new InvalidInputError('"id" must be a string');
    id = req['id'];
  }
  const params = req['parameters'];
  if (params !== undefined && !isObject(params)) throw new InvalidInputError('"parameters" must be an object');
  const binaryAll = params?.['binary_data_output'] === true;
  const rawInputs = req['inputs'];
  if (!Array.isArray(rawInputs)) throw new InvalidInputError('"inputs" must be an array of tensors');

  const byName = new Map<string, Tensor>();
  let offset = jsonEnd;
  for (const raw of rawInputs as unknown[]) {
    if (!isObject(raw) || typeof raw['name'] !== 'string') {
      throw new InvalidInputError('every element of "inputs" must be an object with a string "name"');
    }
    const name = raw['name'];
    const meta = opts.inputs.find((m) => m.name === name);
    if (!meta) {
      throw new InvalidInputError(
        `unexpected input tensor "${name}"; the model's inputs are ${opts.inputs.map((m) => `"${m.name}"`).join(', ')}`,
      );
    }
    if (byName.has(name)) throw new InvalidInputError(`input tensor "${name}" appears more than once`);
    const shape = checkShape(raw['shape'], meta, opts.maxBatchSize);
    if (raw['datatype'] !== meta.datatype) {
      throw new InvalidInputError(
        `input tensor "${name}" has datatype ${JSON.stringify(raw['datatype'])}; ${expected(meta)}`,
      );
    }
    const count = elementCount(shape);
    const tparams = raw['parameters'];
    const binarySize = isObject(tparams) ? tparams['binary_data_size'] : undefined;
    let data: TensorData;
    if (binarySize !== undefined) {
      if (opts.headerLength === undefined) {
        throw new InvalidInputError(
          `input tensor "${name}" has binary_data_size but the request has no Inference-Header-Content-Length header`,
        );
      }
      if (typeof binarySize !== 'number' || !Number.isInteger(binarySize) || binarySize < 0) {
        throw new InvalidInputError(`input tensor "${name}": binary_data_size must be a non-negative integer`);
      }
      if (offset + binarySize > body.length) {
        throw new InvalidInputError(
          `input tensor "${name}": binary_data_size ${binarySize} runs past the end of the body`,
        );
      }
      data = decodeBinary(body, offset, binarySize, meta, count);
      offset += binarySize;
    } else {
      if (raw['data'] === undefined) throw new InvalidInputError(`input tensor "${name}" has no "data"`);
      data = decodeJsonData(raw['data'], meta, count);
    }
    byName.set(name, { name, datatype: meta.datatype, shape, data });
  }
  if (opts.headerLength !== undefined && offset !== body.length) {
    throw new InvalidInputError(
      `the binary part of the body has ${body.length - jsonEnd} bytes but the inputs declare ${offset - jsonEnd}`,
    );
  }
  const inputs: Tensor[] = [];
  for (const meta of opts.inputs) {
    const t = byName.get(meta.name);
    if (!t) throw new InvalidInputError(`missing input tensor "${meta.name}": ${expected(meta)}`);
    inputs.push(t);
  }
  const rows = opts.maxBatchSize > 0 ? (inputs[0]?.shape[0] ?? 1) : 1;
  if (opts.maxBatchSize > 0) {
    for (const t of inputs) {
      if (t.shape[0] !== rows) {
        throw new InvalidInputError(
          `input tensor "${t.name}" has batch size ${t.shape[0]} but "${inputs[0]?.name}" has ${rows}; all inputs must share the batch dimension`,
        );
      }
    }
  }
  return {
    ...(id !== undefined ? { id } : {}),
    inputs,
    outputs: requestedOutputs(req['outputs'], opts.outputs, binaryAll),
    rows,
  };
}

function requestedOutputs(raw: unknown, metas: readonly TensorMetadata[], binaryAll: boolean): RequestedOutput[] {
  if (raw === undefined) return metas.map((m) => ({ name: m.name, binary: binaryAll }));
  if (!Array.isArray(raw)) throw new InvalidInputError('"outputs" must be an array');
  const out: RequestedOutput[] = [];
  for (const o of raw as unknown[]) {
    if (!isObject(o) || typeof o['name'] !== 'string') {
      throw new InvalidInputError('every element of "outputs" must be an object with a string "name"');
    }
    const name = o['name'];
    if (!metas.some((m) => m.name === name)) {
      throw new InvalidInputError(
        `unknown output tensor "${name}"; the model's outputs are ${metas.map((m) => `"${m.name}"`).join(', ')}`,
      );
    }
    const p = o['parameters'];
    const b = isObject(p) ? p['binary_data'] : undefined;
    out.push({ name, binary: typeof b === 'boolean' ? b : binaryAll });
  }
  return out;
}

function checkShape(raw: unknown, meta: TensorMetadata, maxBatchSize: number): number[] {
  if (!Array.isArray(raw) || !raw.every((d) => Number.isInteger(d) && (d as number) >= 0)) {
    throw new InvalidInputError(
      `input tensor "${meta.name}" needs "shape" as an array of non-negative integers; ${expected(meta)}`,
    );
  }
  const shape = raw as number[];
  const bad = (why: string): InvalidInputError =>
    new InvalidInputError(`input tensor "${meta.name}" has shape ${formatShape(shape)} (${why}); ${expected(meta)}`);
  if (shape.length !== meta.shape.length) throw bad(`rank ${shape.length}, model rank ${meta.shape.length}`);
  for (let i = 0; i < shape.length; i++) {
    const want = meta.shape[i] ?? -1;
    if (want >= 0 && shape[i] !== want) throw bad(`dimension ${i} must be ${want}`);
  }
  if (maxBatchSize > 0) {
    const b = shape[0] ?? 0;
    if (b < 1 || b > maxBatchSize) throw bad(`batch size ${b} must be between 1 and the maximum ${maxBatchSize}`);
  }
  return shape;
}

function decodeBinary(body: Buffer, offset: number, size: number, meta: TensorMetadata, count: number): TensorData {
  const info = TYPE_INFO[meta.datatype];
  if (meta.datatype === 'BYTES') {
    const out: string[] = [];
    let p = offset;
    const end = offset + size;
    while (p < end) {
      if (p + 4 > end) throw new InvalidInputError(`input tensor "${meta.name}": truncated BYTES length prefix`);
      const len = body.readUInt32LE(p);
      p += 4;
      if (p + len > end) throw new InvalidInputError(`input tensor "${meta.name}": BYTES element runs past its data`);
      out.push(body.toString('utf8', p, p + len));
      p += len;
    }
    if (out.length !== count) {
      throw new InvalidInputError(
        `input tensor "${meta.name}" carries ${out.length} BYTES elements but its shape needs ${count}`,
      );
    }
    return out;
  }
  if (size !== count * info.bytes) {
    throw new InvalidInputError(
      `input tensor "${meta.name}" has binary_data_size ${size} but its shape and datatype need ${count * info.bytes} bytes`,
    );
  }
  // Copy into a fresh, aligned buffer that can be transferred to a worker thread.
  const copy = new ArrayBuffer(size);
  new Uint8Array(copy).set(body.subarray(offset, offset + size));
  const arr = info.fromBytes!(copy);
  if (meta.datatype === 'BOOL') {
    const u = arr as Uint8Array;
    for (let i = 0; i < u.length; i++) if (u[i]! > 1) u[i] = 1;
  }
  return arr;
}

const INT_RANGE: Partial<Record<Datatype, [number, number]>> = {
  UINT8: [0, 255],
  UINT16: [0, 65535],
  UINT32: [0, 4294967295],
  INT8: [-128, 127],
  INT16: [-32768, 32767],
  INT32: [-2147483648, 2147483647],
  UINT64: [0, Number.MAX_SAFE_INTEGER],
  INT64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

/** Fills a typed array from flat or nested JSON data, checking the element count and every element's type. */
function decodeJsonData(raw: unknown, meta: TensorMetadata, count: number): TensorData {
  if (!Array.isArray(raw)) throw new InvalidInputError(`input tensor "${meta.name}": "data" must be an array`);
  const dt = meta.datatype;
  if (dt === 'FP16') {
    throw new InvalidInputError(`input tensor "${meta.name}" is FP16: send it with the binary tensor data extension`);
  }
  const out = allocate(dt, count);
  let n = 0;
  const fail = (why: string): InvalidInputError =>
    new InvalidInputError(`input tensor "${meta.name}": ${why}; ${expected(meta)}`);
  const put = (v: unknown): void => {
    if (n >= count) throw fail(`"data" has more than the ${count} elements its shape needs`);
    if (dt === 'BYTES') {
      if (typeof v !== 'string') throw fail(`element ${n} is not a string`);
      (out as string[])[n++] = v;
    } else if (dt === 'BOOL') {
      if (typeof v !== 'boolean') throw fail(`element ${n} is not a boolean`);
      (out as Uint8Array)[n++] = v ? 1 : 0;
    } else if (dt === 'FP32' || dt === 'FP64') {
      if (typeof v !== 'number') throw fail(`element ${n} is not a number`);
      (out as Float32Array)[n++] = v;
    } else {
      const range = INT_RANGE[dt]!;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < range[0] || v > range[1]) {
        throw fail(`element ${n} is not an integer in the range of ${dt}`);
      }
      if (dt === 'INT64' || dt === 'UINT64') (out as BigInt64Array)[n++] = BigInt(v);
      else (out as Int32Array)[n++] = v;
    }
  };
  const walk = (a: unknown[]): void => {
    for (let i = 0; i < a.length; i++) {
      const v = a[i];
      if (Array.isArray(v)) walk(v as unknown[]);
      else put(v);
    }
  };
  walk(raw as unknown[]);
  if (n !== count) throw fail(`"data" has ${n} elements but shape needs ${count}`);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Responses

export interface EncodeOptions {
  modelName: string;
  modelVersion: string;
  id?: string | undefined;
  outputs: readonly Tensor[];
  /** Output names to send as binary data; the rest go as JSON. */
  binary: ReadonlySet<string> | undefined;
}

export interface EncodedResponse {
  body: Buffer | string;
  /** Set when binary outputs follow the JSON: the JSON length, for Inference-Header-Content-Length. */
  headerLength?: number;
}

/** JSON text of tensor elements (flat, row-major). NaN and infinities become null, as JSON.stringify writes them. */
export function jsonData(data: TensorData): string {
  if (Array.isArray(data)) return JSON.stringify(data);
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) return `[${data.join(',')}]`;
  const text = `[${data.join(',')}]`;
  // Number#toString writes NaN and Infinity, which are not JSON; those are rare, so check the text once.
  return text.includes('N') || text.includes('I') ? JSON.stringify(Array.from(data)) : text;
}

export function boolJson(data: Uint8Array): string {
  let s = '[';
  for (let i = 0; i < data.length; i++) s += (i ? ',' : '') + (data[i] ? 'true' : 'false');
  return s + ']';
}

function binaryBytes(t: Tensor): Buffer {
  if (Array.isArray(t.data)) {
    const parts: Buffer[] = [];
    for (const s of t.data) {
      const b = Buffer.from(s, 'utf8');
      const len = Buffer.allocUnsafe(4);
      len.writeUInt32LE(b.length, 0);
      parts.push(len, b);
    }
    return Buffer.concat(parts);
  }
  return Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

/** Encodes an `$inference_response`, with the binary tensor data extension for the outputs named in `binary`. */
export function encodeInferResponse(opts: EncodeOptions): EncodedResponse {
  let json = `{"model_name":${JSON.stringify(opts.modelName)},"model_version":${JSON.stringify(opts.modelVersion)}`;
  if (opts.id !== undefined) json += `,"id":${JSON.stringify(opts.id)}`;
  json += ',"outputs":[';
  const blobs: Buffer[] = [];
  opts.outputs.forEach((t, i) => {
    if (i) json += ',';
    json += `{"name":${JSON.stringify(t.name)},"datatype":"${t.datatype}","shape":[${t.shape.join(',')}]`;
    if (opts.binary?.has(t.name)) {
      const b = binaryBytes(t);
      blobs.push(b);
      json += `,"parameters":{"binary_data_size":${b.length}}}`;
    } else {
      json += `,"data":${t.datatype === 'BOOL' ? boolJson(t.data as Uint8Array) : jsonData(t.data)}}`;
    }
  });
  json += ']}';
  if (blobs.length === 0) return { body: json };
  const head = Buffer.from(json, 'utf8');
  return { body: Buffer.concat([head, ...blobs]), headerLength: head.length };
}

/** Nested JS arrays of one row-major tensor, for the v1 `predictions` shape. */
export function toNested(t: Tensor): unknown[] {
  const flat: unknown[] = Array.isArray(t.data)
    ? t.data
    : t.datatype === 'BOOL'
      ? Array.from(t.data as Uint8Array, (v) => v !== 0)
      : t.data instanceof BigInt64Array || t.data instanceof BigUint64Array
        ? Array.from(t.data as BigInt64Array, (v) => Number(v))
        : Array.from(t.data as Float32Array);
  const shape = t.shape;
  if (shape.length <= 1) return flat;
  const build = (dim: number, offset: number): unknown[] => {
    const size = shape[dim] ?? 0;
    if (dim === shape.length - 1) return flat.slice(offset, offset + size);
    const stride = elementCount(shape.slice(dim + 1));
    const out: unknown[] = [];
    for (let i = 0; i < size; i++) out.push(build(dim + 1, offset + i * stride));
    return out;
  };
  return build(0, 0);
}
