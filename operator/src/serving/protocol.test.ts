import { describe, expect, it } from 'vitest';
import {
  decodeInferRequest,
  encodeInferResponse,
  InvalidInputError,
  jsonData,
  toNested,
  type DecodeOptions,
  type TensorMetadata,
} from './protocol.ts';

const inputs: TensorMetadata[] = [
  { name: 'x', datatype: 'FP32', shape: [-1, 3] },
  { name: 'n', datatype: 'INT64', shape: [-1] },
];
const outputs: TensorMetadata[] = [{ name: 'y', datatype: 'FP32', shape: [-1, 3] }];
const opts: DecodeOptions = { inputs, outputs, maxBatchSize: 4 };

const body = (o: unknown): Buffer => Buffer.from(JSON.stringify(o));

describe('decodeInferRequest', () => {
  it('decodes nested and flat data into typed arrays in the model input order', () => {
    const req = decodeInferRequest(
      body({
        id: 'r1',
        inputs: [
          { name: 'n', shape: [2], datatype: 'INT64', data: [5, -6] },
          {
            name: 'x',
            shape: [2, 3],
            datatype: 'FP32',
            data: [
              [1, 2, 3],
              [4, 5, 6],
            ],
          },
        ],
      }),
      opts,
    );
    expect(req.id).toBe('r1');
    expect(req.rows).toBe(2);
    expect(req.inputs.map((t) => t.name)).toEqual(['x', 'n']);
    expect(req.inputs[0]!.data).toEqual(Float32Array.of(1, 2, 3, 4, 5, 6));
    expect(req.inputs[1]!.data).toEqual(BigInt64Array.of(5n, -6n));
    expect(req.outputs).toEqual([{ name: 'y', binary: false }]);
  });

  it('reads binary tensors after the JSON header, in the order the inputs appear', () => {
    const head = Buffer.from(
      JSON.stringify({
        inputs: [
          { name: 'x', shape: [1, 3], datatype: 'FP32', parameters: { binary_data_size: 12 } },
          { name: 'n', shape: [1], datatype: 'INT64', parameters: { binary_data_size: 8 } },
        ],
        outputs: [{ name: 'y', parameters: { binary_data: true } }],
      }),
    );
    const req = decodeInferRequest(
      Buffer.concat([
        head,
        Buffer.from(Float32Array.of(1.5, 2.5, 3.5).buffer),
        Buffer.from(BigInt64Array.of(9n).buffer),
      ]),
      { ...opts, headerLength: head.length },
    );
    expect(req.inputs[0]!.data).toEqual(Float32Array.of(1.5, 2.5, 3.5));
    expect(req.inputs[1]!.data).toEqual(BigInt64Array.of(9n));
    expect(req.outputs).toEqual([{ name: 'y', binary: true }]);
  });

  const x = (shape: number[], data: unknown, datatype = 'FP32') => ({ name: 'x', shape, datatype, data });
  const n1 = { name: 'n', shape: [1], datatype: 'INT64', data: [1] };
  it.each([
    ['int64 not an integer', [x([1, 3], [1, 2, 3]), { ...n1, data: [1.5] }], /"n": element 0 is not an integer/],
    [
      'batch dims disagree',
      [x([1, 3], [1, 2, 3]), { ...n1, shape: [2], data: [1, 2] }],
      /"n" has batch size 2 but "x" has 1/,
    ],
    [
      'zero batch',
      [x([0, 3], []), { ...n1, shape: [0], data: [] }],
      /batch size 0 must be between 1 and the maximum 4/,
    ],
    ['duplicate input', [x([1, 3], [1, 2, 3]), x([1, 3], [1, 2, 3]), n1], /"x" appears more than once/],
    ['negative dimension', [x([1, -3], [1, 2, 3]), n1], /"x" needs "shape" as an array of non-negative integers/],
    [
      'binary size without header',
      [{ ...x([1, 3], undefined), parameters: { binary_data_size: 12 } }, n1],
      /no Inference-Header-Content-Length/,
    ],
  ])('rejects %s', (_name, inputsJson, message) => {
    expect(() => decodeInferRequest(body({ inputs: inputsJson }), opts)).toThrow(InvalidInputError);
    expect(() => decodeInferRequest(body({ inputs: inputsJson }), opts)).toThrow(message);
  });

  it('rejects trailing binary bytes that no input claims', () => {
    const head = Buffer.from(JSON.stringify({ inputs: [x([1, 3], [1, 2, 3]), n1] }));
    expect(() =>
      decodeInferRequest(Buffer.concat([head, Buffer.alloc(4)]), { ...opts, headerLength: head.length }),
    ).toThrow(/binary part of the body has 4 bytes but the inputs declare 0/);
  });
});

describe('encodeInferResponse', () => {
  it('writes JSON a standard client parses, with NaN as null', () => {
    const enc = encodeInferResponse({
      modelName: 'm',
      modelVersion: '2',
      id: 'abc',
      outputs: [
        { name: 'y', datatype: 'FP32', shape: [1, 3], data: Float32Array.of(0.5, Number.NaN, -1) },
        { name: 'b', datatype: 'BOOL', shape: [2], data: Uint8Array.of(1, 0) },
        { name: 'i', datatype: 'INT64', shape: [1], data: BigInt64Array.of(-3n) },
      ],
      binary: undefined,
    });
    expect(enc.headerLength).toBeUndefined();
    expect(JSON.parse(enc.body as string)).toEqual({
      model_name: 'm',
      model_version: '2',
      id: 'abc',
      outputs: [
        { name: 'y', datatype: 'FP32', shape: [1, 3], data: [0.5, null, -1] },
        { name: 'b', datatype: 'BOOL', shape: [2], data: [true, false] },
        { name: 'i', datatype: 'INT64', shape: [1], data: [-3] },
      ],
    });
  });

  it('appends binary outputs after the JSON and reports the header length', () => {
    const enc = encodeInferResponse({
      modelName: 'm',
      modelVersion: '1',
      outputs: [
        { name: 'y', datatype: 'FP32', shape: [2], data: Float32Array.of(1, 2) },
        { name: 's', datatype: 'BYTES', shape: [1], data: ['hi'] },
      ],
      binary: new Set(['y', 's']),
    });
    const buf = enc.body as Buffer;
    const json = JSON.parse(buf.subarray(0, enc.headerLength).toString()) as {
      outputs: { parameters: { binary_data_size: number } }[];
    };
    expect(json.outputs.map((o) => o.parameters.binary_data_size)).toEqual([8, 6]);
    const tail = buf.subarray(enc.headerLength);
    expect(new Float32Array(tail.buffer.slice(tail.byteOffset, tail.byteOffset + 8))).toEqual(Float32Array.of(1, 2));
    expect(tail.readUInt32LE(8)).toBe(2);
    expect(tail.subarray(12).toString()).toBe('hi');
  });

  it('jsonData and toNested keep row-major order', () => {
    expect(jsonData(Float64Array.of(1, 2.5))).toBe('[1,2.5]');
    expect(toNested({ name: 't', datatype: 'INT32', shape: [2, 2], data: Int32Array.of(1, 2, 3, 4) })).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });
});
