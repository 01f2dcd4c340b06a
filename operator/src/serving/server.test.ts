import { Ajv, type ValidateFunction } from 'ajv';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeModels, type ModelFile } from '../../../test/fixtures/serving/models.ts';
import { ModelServer, type ModelServerOptions } from './server.ts';

// In-process servers on loopback with real worker threads and real ONNX models (test/fixtures/serving/make_models.py).

const schema = JSON.parse(
  readFileSync(new URL('../../../test/fixtures/serving/oip-v2-rest.schema.json', import.meta.url), 'utf8'),
) as object;
const ajv = new Ajv({ allErrors: true, strict: false });
ajv.addSchema(schema);
const validators = new Map<string, ValidateFunction>();
/** Asserts that `body` matches the OIP schema definition `def`. */
function expectSchema(def: string, body: unknown): void {
  let v = validators.get(def);
  if (!v) {
    v = ajv.getSchema(`oip-v2-rest#/definitions/${def}`)!;
    validators.set(def, v);
  }
  if (!v(body)) throw new Error(`${def}: ${ajv.errorsText(v.errors)} in ${JSON.stringify(body).slice(0, 300)}`);
}

interface Reply {
  status: number;
  headers: Headers;
  raw: Buffer;
  json: () => unknown;
}

class Client {
  readonly base: string;
  constructor(base: string) {
    this.base = base;
  }
  async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
    const init: RequestInit = { method, headers: { 'content-type': 'application/json', ...headers } };
    if (body !== undefined)
      init.body = Buffer.isBuffer(body) ? body : typeof body === 'string' ? body : JSON.stringify(body);
    const res = await fetch(this.base + path, init);
    const raw = Buffer.from(await res.arrayBuffer());
    return { status: res.status, headers: res.headers, raw, json: () => JSON.parse(raw.toString('utf8')) as unknown };
  }
  get(path: string): Promise<Reply> {
    return this.call('GET', path);
  }
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Reply> {
    return this.call('POST', path, body, headers);
  }
  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    const text = (await this.get('/metrics')).raw.toString('utf8');
    let total = 0;
    for (const line of text.split('\n')) {
      if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
      if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return total;
  }
}

const silent = pino({ level: 'silent' });
const servers: ModelServer[] = [];

async function start(
  model: ModelFile | string,
  over: Partial<ModelServerOptions> = {},
  name = 'm',
): Promise<{ server: ModelServer; client: Client }> {
  const server = new ModelServer({
    modelName: name,
    modelVersion: '1',
    batching: { maxBatchSize: 8, preferredBatchSizes: [], maxQueueDelayNs: 0 },
    maxQueueSize: 64,
    workers: 1,
    intraOpThreads: 1,
    maxBodyBytes: 1 << 20,
    drainTimeoutMs: 5_000,
    logger: silent,
    prepare: () => Promise.resolve(typeof model === 'string' ? model : model.path),
    defaultMetrics: false,
    serverVersion: '9.9.9',
    ...over,
  });
  servers.push(server);
  const addr = await server.listen(0, '127.0.0.1');
  if (over.prepare === undefined) await server.load();
  return { server, client: new Client(`http://127.0.0.1:${addr.port}`) };
}

function row(i: number, n = 16): number[] {
  return Array.from({ length: n }, (_, j) => Math.round(Math.sin(i * 31 + j) * 1000) / 250);
}

function tabularRequest(rows: number[][], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ...extra,
    inputs: [{ name: 'input', shape: [rows.length, 16], datatype: 'FP32', data: rows }],
  };
}

interface OutTensor {
  name: string;
  datatype: string;
  shape: number[];
  data: unknown[];
}

let models: Record<'tabular' | 'types' | 'fixed', ModelFile>;
let tab: Client;

beforeAll(async () => {
  models = await makeModels(['tabular', 'types', 'fixed']);
  ({ client: tab } = await start(models.tabular, {}, 'tabular'));
}, 300_000);

afterAll(async () => {
  await Promise.all(servers.map((s) => s.shutdown()));
});

describe('health and metadata endpoints match the OIP schemas', () => {
  it('GET /v2/health/live and /v2/health/ready', async () => {
    const live = await tab.get('/v2/health/live');
    expect(live.status).toBe(200);
    expectSchema('server_live_response', live.json());
    expect(live.json()).toEqual({ live: true });
    const ready = await tab.get('/v2/health/ready');
    expect(ready.status).toBe(200);
    expectSchema('server_ready_response', ready.json());
    expect(ready.json()).toEqual({ ready: true });
  });

  it('GET /v2 lists the binary tensor data extension', async () => {
    const r = await tab.get('/v2');
    expect(r.status).toBe(200);
    expectSchema('server_metadata_response', r.json());
    expect(r.json()).toEqual({ name: 'mlops-operator', version: '9.9.9', extensions: ['binary_tensor_data'] });
  });

  it.each(['/v2/models/tabular', '/v2/models/tabular/versions/1'])('GET %s: model metadata', async (path) => {
    const r = await tab.get(path);
    expect(r.status).toBe(200);
    expectSchema('model_metadata_response', r.json());
    expect(r.json()).toEqual({
      name: 'tabular',
      versions: ['1'],
      platform: 'onnx_onnxv1',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 16] }],
      outputs: [
        { name: 'label', datatype: 'INT64', shape: [-1] },
        { name: 'probabilities', datatype: 'FP32', shape: [-1, 2] },
      ],
    });
  });

  it.each(['/v2/models/tabular/ready', '/v2/models/tabular/versions/1/ready'])('GET %s: model ready', async (path) => {
    const r = await tab.get(path);
    expect(r.status).toBe(200);
    expectSchema('model_ready_response', r.json());
    expect(r.json()).toEqual({ name: 'tabular', ready: true });
  });

  it.each([
    ['GET', '/v2/models/nope', /model "nope" is not served here/],
    ['GET', '/v2/models/nope/ready', /model "nope"/],
    ['GET', '/v2/models/tabular/versions/2', /no version "2"/],
    ['GET', '/v2/models/tabular/versions/2/ready', /no version "2"/],
    ['POST', '/v2/models/nope/infer', /model "nope"/],
    ['POST', '/v2/models/tabular/versions/7/infer', /no version "7"/],
    ['POST', '/v1/models/nope:predict', /model "nope"/],
    ['GET', '/v2/nothing', /no route/],
  ])('%s %s: 404 with an error body', async (method, path, message) => {
    const r = await tab.call(method, path, method === 'POST' ? tabularRequest([row(0)]) : undefined);
    expect(r.status).toBe(404);
    expectSchema('error_response', r.json());
    expect((r.json() as { error: string }).error).toMatch(message);
  });

  it('answers 405 for the wrong method', async () => {
    const r = await tab.get('/v2/models/tabular/infer');
    expect(r.status).toBe(405);
    expectSchema('error_response', r.json());
    expect(r.headers.get('allow')).toBe('POST');
  });

  it('GET /v2/models lists the model', async () => {
    expect((await tab.get('/v2/models')).json()).toEqual({ models: ['tabular'] });
  });
});

describe('inference', () => {
  it('POST /v2/models/{m}/infer: a valid response that echoes the id, nested and flat data alike', async () => {
    const rows = [row(1), row(2)];
    const nested = await tab.post('/v2/models/tabular/infer', tabularRequest(rows, { id: 'req-42' }));
    expect(nested.status).toBe(200);
    const body = nested.json() as { id: string; model_name: string; model_version: string; outputs: OutTensor[] };
    expectSchema('inference_response', body);
    expect(body.id).toBe('req-42');
    expect(body.model_name).toBe('tabular');
    expect(body.model_version).toBe('1');
    expect(body.outputs.map((o) => [o.name, o.datatype, o.shape])).toEqual([
      ['label', 'INT64', [2]],
      ['probabilities', 'FP32', [2, 2]],
    ]);
    const probs = body.outputs[1]!.data as number[];
    expect(probs[0]! + probs[1]!).toBeCloseTo(1, 5);
    expect(body.outputs[0]!.data).toEqual([probs[1]! > probs[0]! ? 1 : 0, probs[3]! > probs[2]! ? 1 : 0]);

    const flatReq = { inputs: [{ name: 'input', shape: [2, 16], datatype: 'FP32', data: rows.flat() }] };
    const flat = await tab.post('/v2/models/tabular/versions/1/infer', flatReq);
    expect((flat.json() as { outputs: OutTensor[] }).outputs).toEqual(body.outputs);
  });

  it('returns only the requested outputs, in the requested order', async () => {
    const r = await tab.post('/v2/models/tabular/infer', {
      ...tabularRequest([row(3)]),
      outputs: [{ name: 'probabilities' }],
    });
    const body = r.json() as { outputs: OutTensor[] };
    expectSchema('inference_response', body);
    expect(body.outputs.map((o) => o.name)).toEqual(['probabilities']);
  });

  const bad: [string, unknown, RegExp][] = [
    [
      'wrong inner dimension',
      { inputs: [{ name: 'input', shape: [1, 15], datatype: 'FP32', data: row(0, 15) }] },
      /"input".*dimension 1 must be 16.*FP32.*\[-1,16\]/,
    ],
    [
      'wrong datatype',
      { inputs: [{ name: 'input', shape: [1, 16], datatype: 'FP64', data: row(0) }] },
      /"input".*"FP64".*expected datatype FP32 and shape \[-1,16\]/,
    ],
    [
      'wrong rank',
      { inputs: [{ name: 'input', shape: [16], datatype: 'FP32', data: row(0) }] },
      /"input".*rank 1.*\[-1,16\]/,
    ],
    [
      'too few elements',
      { inputs: [{ name: 'input', shape: [1, 16], datatype: 'FP32', data: row(0, 15) }] },
      /"input".*15 elements.*needs 16/,
    ],
    [
      'too many elements',
      { inputs: [{ name: 'input', shape: [1, 16], datatype: 'FP32', data: row(0, 17) }] },
      /"input".*more than the 16/,
    ],
    [
      'a string among numbers',
      { inputs: [{ name: 'input', shape: [1, 2], datatype: 'FP32', data: ['x', 1] }] },
      /"input"/,
    ],
    ['missing input', { inputs: [] }, /missing input tensor "input": expected datatype FP32 and shape \[-1,16\]/],
    [
      'unknown input',
      { inputs: [{ name: 'x', shape: [1], datatype: 'FP32', data: [1] }] },
      /unexpected input tensor "x"/,
    ],
    ['unknown output', { ...tabularRequest([row(0)]), outputs: [{ name: 'nope' }] }, /unknown output tensor "nope"/],
    [
      'batch above maxBatchSize',
      tabularRequest(Array.from({ length: 9 }, (_, i) => row(i))),
      /batch size 9.*maximum 8/,
    ],
    ['inputs not an array', { inputs: {} }, /"inputs" must be an array/],
    ['not JSON', '{"inputs": [', /not valid JSON/],
  ];
  it.each(bad)('400 for %s, naming the tensor and what was expected', async (_name, body, message) => {
    const r = await tab.post('/v2/models/tabular/infer', body);
    expect(r.status).toBe(400);
    expectSchema('error_response', r.json());
    expect((r.json() as { error: string }).error).toMatch(message);
  });

  it('413 for a body over the limit', async () => {
    const { client } = await start(models.tabular, { maxBodyBytes: 512 }, 'small');
    const r = await client.post('/v2/models/small/infer', tabularRequest(Array.from({ length: 8 }, (_, i) => row(i))));
    expect(r.status).toBe(413);
    expectSchema('error_response', r.json());
  });

  it('KServe v1: GET /v1/models, /v1/models/{m}, and :predict returns the same numbers as v2', async () => {
    expect((await tab.get('/v1/models')).json()).toEqual({ models: ['tabular'] });
    expect((await tab.get('/v1/models/tabular')).json()).toEqual({ name: 'tabular', ready: true });
    const rows = [row(5), row(6)];
    const v1 = await tab.post('/v1/models/tabular:predict', { instances: rows });
    expect(v1.status).toBe(200);
    const v2 = (await tab.post('/v2/models/tabular/infer', tabularRequest(rows))).json() as { outputs: OutTensor[] };
    const probs = v2.outputs[1]!.data as number[];
    expect(v1.json()).toEqual({
      predictions: [
        { label: v2.outputs[0]!.data[0], probabilities: probs.slice(0, 2) },
        { label: v2.outputs[0]!.data[1], probabilities: probs.slice(2, 4) },
      ],
    });
    const badV1 = await tab.post('/v1/models/tabular:predict', { instances: [row(0, 3)] });
    expect(badV1.status).toBe(400);
    expectSchema('error_response', badV1.json());
  });
});

/** Builds a binary-extension body: JSON header then raw little-endian tensors. */
function binaryBody(json: object, blobs: Buffer[]): { body: Buffer; headers: Record<string, string> } {
  const head = Buffer.from(JSON.stringify(json));
  return {
    body: Buffer.concat([head, ...blobs]),
    headers: { 'inference-header-content-length': String(head.length), 'content-type': 'application/octet-stream' },
  };
}

/** Splits a binary-extension response into its JSON and the named binary outputs. */
function parseBinary(r: Reply): {
  json: { outputs: (OutTensor & { parameters?: { binary_data_size: number } })[] };
  blobs: Map<string, Buffer>;
} {
  const len = Number(r.headers.get('inference-header-content-length'));
  const json = JSON.parse(r.raw.subarray(0, len).toString('utf8')) as ReturnType<typeof parseBinary>['json'];
  const blobs = new Map<string, Buffer>();
  let off = len;
  for (const o of json.outputs) {
    const size = o.parameters?.binary_data_size;
    if (size === undefined) continue;
    blobs.set(o.name, r.raw.subarray(off, off + size));
    off += size;
  }
  expect(off).toBe(r.raw.length);
  return { json, blobs };
}

describe('binary tensor data extension', () => {
  it('binary input and binary output give the same numbers as JSON', async () => {
    const rows = [row(7), row(8), row(9)];
    const viaJson = (await tab.post('/v2/models/tabular/infer', tabularRequest(rows))).json() as {
      outputs: OutTensor[];
    };
    const { body, headers } = binaryBody(
      {
        inputs: [{ name: 'input', shape: [3, 16], datatype: 'FP32', parameters: { binary_data_size: 3 * 16 * 4 } }],
        parameters: { binary_data_output: true },
      },
      [Buffer.from(Float32Array.from(rows.flat()).buffer)],
    );
    const r = await tab.post('/v2/models/tabular/infer', body, headers);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/octet-stream');
    const { json, blobs } = parseBinary(r);
    expectSchema('inference_response', json);
    const label = blobs.get('label')!;
    const probs = blobs.get('probabilities')!;
    expect(
      Array.from(new BigInt64Array(label.buffer.slice(label.byteOffset, label.byteOffset + label.length)), Number),
    ).toEqual(viaJson.outputs[0]!.data);
    expect(Array.from(new Float32Array(probs.buffer.slice(probs.byteOffset, probs.byteOffset + probs.length)))).toEqual(
      viaJson.outputs[1]!.data,
    );
  });

  it('per-output binary_data overrides the request-level default', async () => {
    const { body, headers } = binaryBody(
      {
        inputs: [{ name: 'input', shape: [1, 16], datatype: 'FP32', parameters: { binary_data_size: 64 } }],
        parameters: { binary_data_output: true },
        outputs: [{ name: 'label', parameters: { binary_data: false } }, { name: 'probabilities' }],
      },
      [Buffer.from(Float32Array.from(row(1)).buffer)],
    );
    const { json, blobs } = parseBinary(await tab.post('/v2/models/tabular/infer', body, headers));
    expect(json.outputs[0]!.data).toHaveLength(1);
    expect([...blobs.keys()]).toEqual(['probabilities']);
  });

  it('400 when binary_data_size does not match the shape', async () => {
    const { body, headers } = binaryBody(
      { inputs: [{ name: 'input', shape: [1, 16], datatype: 'FP32', parameters: { binary_data_size: 60 } }] },
      [Buffer.alloc(60)],
    );
    const r = await tab.post('/v2/models/tabular/infer', body, headers);
    expect(r.status).toBe(400);
    expect((r.json() as { error: string }).error).toMatch(/"input" has binary_data_size 60 but .* need 64 bytes/);
  });

  it('every datatype round-trips through JSON and binary identically', async () => {
    const { client } = await start(models.types, {}, 'types');
    const meta = (await client.get('/v2/models/types')).json() as { inputs: { name: string; datatype: string }[] };
    const values: Record<string, unknown[]> = {
      FP32: [1.5, -2.25, 3, 0.125],
      FP64: [1e-300, -2.5, 3.141592653589793, 0],
      INT8: [-128, 127, 0, -1],
      INT16: [-32768, 32767, 5, -5],
      INT32: [-2147483648, 2147483647, 7, -7],
      INT64: [-9007199254740991, 9007199254740991, 1, -1],
      UINT8: [0, 255, 1, 2],
      UINT16: [0, 65535, 3, 4],
      UINT32: [0, 4294967295, 5, 6],
      UINT64: [0, 9007199254740991, 7, 8],
      BOOL: [true, false, false, true],
      BYTES: ['a', 'héllo', '', 'x y'],
    };
    const inputs = meta.inputs.map((m) => ({
      name: m.name,
      shape: [2, 2],
      datatype: m.datatype,
      data: values[m.datatype],
    }));
    const viaJson = await client.post('/v2/models/types/infer', { inputs });
    expect(viaJson.status).toBe(200);
    const jsonBody = viaJson.json() as { outputs: OutTensor[] };
    expectSchema('inference_response', jsonBody);
    for (const o of jsonBody.outputs) expect(o.data).toEqual(values[o.datatype]);

    const blobs = meta.inputs.map((m) => encodeBinary(m.datatype, values[m.datatype]!));
    const { body, headers } = binaryBody(
      {
        inputs: meta.inputs.map((m, i) => ({
          name: m.name,
          shape: [2, 2],
          datatype: m.datatype,
          parameters: { binary_data_size: blobs[i]!.length },
        })),
        parameters: { binary_data_output: true },
      },
      blobs,
    );
    const viaBinary = parseBinary(await client.post('/v2/models/types/infer', body, headers));
    for (const [i, m] of meta.inputs.entries()) {
      expect(viaBinary.blobs.get(m.name.replace('x_', 'y_'))).toEqual(blobs[i]);
    }
  });
});

function encodeBinary(dt: string, values: unknown[]): Buffer {
  const nums = values as number[];
  switch (dt) {
    case 'FP32':
      return Buffer.from(Float32Array.from(nums).buffer);
    case 'FP64':
      return Buffer.from(Float64Array.from(nums).buffer);
    case 'INT8':
      return Buffer.from(Int8Array.from(nums).buffer);
    case 'INT16':
      return Buffer.from(Int16Array.from(nums).buffer);
    case 'INT32':
      return Buffer.from(Int32Array.from(nums).buffer);
    case 'INT64':
      return Buffer.from(BigInt64Array.from(nums, BigInt).buffer);
    case 'UINT8':
      return Buffer.from(Uint8Array.from(nums).buffer);
    case 'UINT16':
      return Buffer.from(Uint16Array.from(nums).buffer);
    case 'UINT32':
      return Buffer.from(Uint32Array.from(nums).buffer);
    case 'UINT64':
      return Buffer.from(BigUint64Array.from(nums, BigInt).buffer);
    case 'BOOL':
      return Buffer.from((values as boolean[]).map((b) => (b ? 1 : 0)));
    case 'BYTES':
      return Buffer.concat(
        (values as string[]).flatMap((s) => {
          const b = Buffer.from(s);
          const len = Buffer.alloc(4);
          len.writeUInt32LE(b.length);
          return [len, b];
        }),
      );
    default:
      throw new Error(dt);
  }
}

describe('dynamic batching', () => {
  it('batched results equal unbatched ones, element for element, in order', async () => {
    const batched = await start(
      models.tabular,
      { batching: { maxBatchSize: 8, preferredBatchSizes: [], maxQueueDelayNs: 20e6 } },
      'batched',
    );
    const single = await start(
      models.tabular,
      { batching: { maxBatchSize: 0, preferredBatchSizes: [], maxQueueDelayNs: 0 } },
      'single',
    );
    const requests = Array.from({ length: 24 }, (_, i) =>
      Array.from({ length: 1 + (i % 3) }, (_, j) => row(i * 10 + j)),
    );
    const execBefore = await batched.client.metric('mlops_inference_exec_count');
    const [b, s] = await Promise.all([
      Promise.all(requests.map((rows) => batched.client.post('/v2/models/batched/infer', tabularRequest(rows)))),
      Promise.all(requests.map((rows) => single.client.post('/v2/models/single/infer', tabularRequest(rows)))),
    ]);
    const execs = (await batched.client.metric('mlops_inference_exec_count')) - execBefore;
    expect(execs).toBeLessThan(requests.length); // batches were really formed
    requests.forEach((rows, i) => {
      const bo = (b[i]!.json() as { outputs: OutTensor[] }).outputs;
      const so = (s[i]!.json() as { outputs: OutTensor[] }).outputs;
      expect(bo[0]!.shape).toEqual([rows.length]);
      expect(bo).toEqual(so);
    });
  });

  it('a full queue answers 503 at once, and the queued request still completes', async () => {
    const { client } = await start(
      models.tabular,
      { maxQueueSize: 1, batching: { maxBatchSize: 8, preferredBatchSizes: [], maxQueueDelayNs: 300e6 } },
      'tiny-queue',
    );
    const rejectedBefore = await client.metric('mlops_inference_request_failure', { reason: 'REJECTED' });
    const first = client.post('/v2/models/tiny-queue/infer', tabularRequest([row(1)]));
    // The first request waits in the queue for a fuller batch; wait until the server holds it.
    while ((await client.metric('mlops_inference_pending_request_count')) < 1)
      await new Promise((r) => setImmediate(r));
    // Probes and metrics never wait behind the queue.
    expect((await client.get('/v2/health/ready')).status).toBe(200);
    expect((await client.get('/v2/models/tiny-queue/ready')).status).toBe(200);
    const second = await client.post('/v2/models/tiny-queue/infer', tabularRequest([row(2)]));
    expect(second.status).toBe(503);
    expectSchema('error_response', second.json());
    expect((second.json() as { error: string }).error).toMatch(/queue is full/);
    expect((await first).status).toBe(200);
    expect((await client.metric('mlops_inference_request_failure', { reason: 'REJECTED' })) - rejectedBefore).toBe(1);
  });
});

describe('cancellation', () => {
  it('a client that disconnects while its request is queued counts as CANCELED, not as a success', async () => {
    const { client } = await start(
      models.tabular,
      { batching: { maxBatchSize: 8, preferredBatchSizes: [], maxQueueDelayNs: 200e6 } },
      'cancel',
    );
    const canceledBefore = await client.metric('mlops_inference_request_failure', { reason: 'CANCELED' });
    const successBefore = await client.metric('mlops_inference_request_success');
    const abort = new AbortController();
    const gone = fetch(`${client.base}/v2/models/cancel/infer`, {
      method: 'POST',
      body: JSON.stringify(tabularRequest([row(1)])),
      signal: abort.signal,
    }).catch((err: unknown) => err);
    while ((await client.metric('mlops_inference_pending_request_count')) < 1)
      await new Promise((r) => setImmediate(r));
    abort.abort();
    await gone;
    // The queued request still runs once its delay is over; then it is counted.
    while ((await client.metric('mlops_inference_request_failure', { reason: 'CANCELED' })) === canceledBefore) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect((await client.metric('mlops_inference_request_failure', { reason: 'CANCELED' })) - canceledBefore).toBe(1);
    expect(await client.metric('mlops_inference_request_success')).toBe(successBefore);
  });
});

describe('metrics', () => {
  it('move by the right amounts: requests, inferences (rows), executions, failures, durations', async () => {
    const { client } = await start(
      models.tabular,
      { batching: { maxBatchSize: 8, preferredBatchSizes: [], maxQueueDelayNs: 0 } },
      'counted',
    );
    const names = [
      'mlops_inference_request_success',
      'mlops_inference_count',
      'mlops_inference_exec_count',
      'mlops_inference_request_duration_us',
      'mlops_inference_compute_infer_duration_us',
      'mlops_inference_request_duration_seconds_count',
    ];
    const before = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await client.metric(n)] as const)));
    const otherBefore = await client.metric('mlops_inference_request_failure', { reason: 'OTHER' });
    // Sequential requests: each runs alone, so executions = requests and inferences = rows.
    for (const rows of [1, 2, 3]) {
      const r = await client.post(
        '/v2/models/counted/infer',
        tabularRequest(Array.from({ length: rows }, (_, i) => row(i))),
      );
      expect(r.status).toBe(200);
    }
    expect((await client.post('/v2/models/counted/infer', { inputs: [] })).status).toBe(400);
    const after = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await client.metric(n)] as const)));
    expect(after['mlops_inference_request_success']! - before['mlops_inference_request_success']!).toBe(3);
    expect(after['mlops_inference_count']! - before['mlops_inference_count']!).toBe(6);
    expect(after['mlops_inference_exec_count']! - before['mlops_inference_exec_count']!).toBe(3);
    expect(
      after['mlops_inference_request_duration_seconds_count']! -
        before['mlops_inference_request_duration_seconds_count']!,
    ).toBe(3);
    expect(after['mlops_inference_request_duration_us']!).toBeGreaterThan(
      before['mlops_inference_request_duration_us']!,
    );
    expect(after['mlops_inference_compute_infer_duration_us']!).toBeGreaterThan(
      before['mlops_inference_compute_infer_duration_us']!,
    );
    expect((await client.metric('mlops_inference_request_failure', { reason: 'OTHER' })) - otherBefore).toBe(1);
    const text = (await client.get('/metrics')).raw.toString();
    expect(text).toMatch(/mlops_inference_request_success\{model="counted",version="1"\} \d+/);
    expect(text).toMatch(/mlops_model_ready\{model="counted",version="1"\} 1/);
  });
});

describe('start-up states', () => {
  it('is live but not ready while loading, then ready', async () => {
    let release!: (path: string) => void;
    const gate = new Promise<string>((r) => {
      release = r;
    });
    const { server, client } = await start(models.tabular, { prepare: () => gate }, 'slow');
    const loading = server.load();
    expect((await client.get('/v2/health/live')).status).toBe(200);
    for (const path of ['/v2/health/ready', '/v2/models/slow/ready', '/v2/models/slow']) {
      const r = await client.get(path);
      expect(r.status).toBe(503);
      expectSchema('error_response', r.json());
    }
    const infer = await client.post('/v2/models/slow/infer', tabularRequest([row(0)]));
    expect(infer.status).toBe(503);
    expect((await client.get('/v1/models/slow')).json()).toEqual({ name: 'slow', ready: false });
    release(models.tabular.path);
    expect(await loading).toBe(true);
    expect((await client.get('/v2/health/ready')).status).toBe(200);
  });

  it('a file that is not ONNX never turns ready, and says why', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlops-serving-test-'));
    const path = join(dir, 'corrupt.onnx');
    writeFileSync(path, Buffer.from('this is not a model'));
    const { server, client } = await start(path, { prepare: () => Promise.resolve(path) }, 'corrupt');
    expect(await server.load()).toBe(false);
    expect(server.state).toBe('failed');
    const r = await client.get('/v2/health/ready');
    expect(r.status).toBe(503);
    expect((r.json() as { error: string }).error).toMatch(/failed to load: onnxruntime cannot load the model/);
    expect((await client.get('/v2/health/live')).status).toBe(200);
  });

  it('a model with no batch dimension runs with batching off, shapes passed through', async () => {
    const { server, client } = await start(models.fixed, {}, 'fixed');
    expect(server.batching.maxBatchSize).toBe(0);
    const r = await client.post('/v2/models/fixed/infer', {
      inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }],
    });
    expect((r.json() as { outputs: OutTensor[] }).outputs[0]).toEqual({
      name: 'output',
      datatype: 'FP32',
      shape: [1, 4],
      data: [2, 4, 6, 8],
    });
    const bad = await client.post('/v2/models/fixed/infer', {
      inputs: [{ name: 'input', shape: [2, 4], datatype: 'FP32', data: [1, 2, 3, 4, 5, 6, 7, 8] }],
    });
    expect(bad.status).toBe(400);
    expect((bad.json() as { error: string }).error).toMatch(/dimension 0 must be 1.*\[1,4\]/);
  });
});

describe('threads', () => {
  it.runIf(existsSync('/proc/self/task'))('inference threads run at the configured nice value', async () => {
    await start(models.tabular, { workerNiceness: 7 }, 'nice');
    const nices = readdirSync('/proc/self/task').map((tid) => {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
    });
    expect(nices).toContain(7);
    expect(nices).toContain(0);
  });
});

describe('shutdown', () => {
  it('stops readiness at once and answers every accepted request before closing', async () => {
    const { server, client } = await start(
      models.tabular,
      { batching: { maxBatchSize: 64, preferredBatchSizes: [], maxQueueDelayNs: 200e6 } },
      'draining',
    );
    const inFlight = Array.from({ length: 10 }, (_, i) =>
      client.post('/v2/models/draining/infer', tabularRequest([row(i)])),
    );
    while ((await client.metric('mlops_inference_pending_request_count')) < 10)
      await new Promise((r) => setImmediate(r));
    const done = server.shutdown();
    expect(server.state).toBe('draining');
    const results = await Promise.all(inFlight);
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(200));
    await done;
    expect(server.state).toBe('stopped');
    await expect(client.get('/v2/health/live')).rejects.toThrow();
  });
});
