import { describe, expect, it } from 'vitest';
import { buildFeeds, planFeeds, planOutputs, type ValueInfo } from './mapping.ts';

const matrix = (width: number | string, type = 'float32'): ValueInfo[] => [
  { name: 'input', isTensor: true, type, shape: ['N', width] },
];
const cols = ['f0', 'f1', 'f2', 'y', 'color'];

describe('planFeeds', () => {
  it.each([
    [
      'a fixed-width matrix from named features, in their order',
      matrix(2),
      ['f1', 'f0'],
      { kind: 'matrix', input: 'input', type: 'float32', features: ['f1', 'f0'] },
    ],
    [
      'a symbolic-width matrix from every column but the label',
      matrix('F'),
      undefined,
      { kind: 'matrix', input: 'input', type: 'float32', features: ['f0', 'f1', 'f2', 'color'] },
    ],
    [
      'a double matrix',
      matrix(3, 'float64'),
      ['f0', 'f1', 'f2'],
      { kind: 'matrix', input: 'input', type: 'float64', features: ['f0', 'f1', 'f2'] },
    ],
  ] as const)('%s', (_what, inputs, features, want) => {
    expect(planFeeds(inputs, cols, 'y', features)).toEqual(want);
  });

  it('one input per column, by name, with its type (skl2onnx mixed types)', () => {
    const inputs: ValueInfo[] = [
      { name: 'f0', isTensor: true, type: 'float32', shape: ['N', 1] },
      { name: 'color', isTensor: true, type: 'string', shape: ['N', 1] },
    ];
    expect(planFeeds(inputs, cols, 'y')).toEqual({
      kind: 'columns',
      inputs: [
        { input: 'f0', column: 'f0', type: 'float32', rank: 2 },
        { input: 'color', column: 'color', type: 'string', rank: 2 },
      ],
    });
  });

  it.each([
    ['width differs', matrix(4), ['f0', 'f1'], /expects 4 features per row, the dataset gives 2/],
    ['an int matrix', matrix(2, 'int64'), ['f0', 'f1'], /must be float or double/],
    ['a missing feature column', matrix(1), ['nope'], /feature column "nope" is not in the dataset/],
    ['the label as a feature', matrix(1), ['y'], /label column "y" is also a feature/],
    ['a non-tensor input', [{ name: 'm', isTensor: false }], undefined, /not a tensor/],
    ['no inputs', [], undefined, /declares no inputs/],
  ] as Array<[string, ValueInfo[], string[] | undefined, RegExp]>)('refuses %s', (_what, inputs, features, message) => {
    expect(() => planFeeds(inputs, cols, 'y', features)).toThrow(message);
  });

  it('refuses per-column inputs without a column or with a wide shape', () => {
    const two: ValueInfo[] = [
      { name: 'f0', isTensor: true, type: 'float32', shape: ['N', 1] },
      { name: 'age', isTensor: true, type: 'float32', shape: ['N', 1] },
    ];
    expect(() => planFeeds(two, cols, 'y')).toThrow(/model input "age" has no column/);
    const wide: ValueInfo[] = [
      { name: 'f0', isTensor: true, type: 'float32', shape: ['N', 3] },
      { name: 'f1', isTensor: true, type: 'float32', shape: ['N', 1] },
    ];
    expect(() => planFeeds(wide, cols, 'y')).toThrow(/must be \[N\] or \[N, 1\]/);
  });
});

describe('buildFeeds', () => {
  it('fills a row-major matrix, empty cells as NaN, and reuses the scratch array', () => {
    const plan = planFeeds(matrix(2), cols, 'y', ['f0', 'f1']);
    const batch = {
      length: 2,
      columns: new Map<string, ArrayLike<string | number | null>>([
        ['f0', ['1', null]],
        ['f1', new Float64Array([2, 4])],
      ]),
    };
    const scratch = new Map();
    const a = buildFeeds(plan, batch, 0, scratch).input!;
    expect(a.dims).toEqual([2, 2]);
    expect(Array.from(a.data as Float32Array)).toEqual([1, 2, NaN, 4]);
    const b = buildFeeds(plan, batch, 0, scratch).input!;
    expect(b.data).toBe(a.data);
  });

  it('names the row of a cell that is not a number', () => {
    const plan = planFeeds(matrix(1), cols, 'y', ['f0']);
    const batch = { length: 2, columns: new Map([['f0', ['1', 'x']]]) };
    expect(() => buildFeeds(plan, batch, 10)).toThrow(/column "f0" row 12: "x" is not a number/);
  });
});

describe('planOutputs', () => {
  const clf: ValueInfo[] = [
    { name: 'label', isTensor: true, type: 'int64', shape: ['N'] },
    { name: 'probabilities', isTensor: true, type: 'float32', shape: ['N', 2] },
  ];
  it.each([
    [
      'a classifier: label and probabilities',
      clf,
      'classification',
      true,
      undefined,
      { task: 'classification', label: 'label', probabilities: 'probabilities' },
    ],
    [
      'a regressor',
      [{ name: 'variable', isTensor: true, type: 'float32', shape: ['N', 1] }],
      'regression',
      false,
      undefined,
      { task: 'regression', prediction: 'variable' },
    ],
    [
      'dataset.output names the probabilities',
      clf,
      'classification',
      true,
      'probabilities',
      { task: 'classification', label: 'label', probabilities: 'probabilities' },
    ],
  ] as const)('%s', (_what, outputs, task, needProbabilities, preferred, want) => {
    expect(planOutputs(outputs, task, needProbabilities, preferred)).toEqual(want);
  });

  it.each([
    [
      'ZipMap probabilities',
      [
        { name: 'label', isTensor: true, type: 'int64', shape: ['N'] },
        { name: 'output_probability', isTensor: false },
      ],
      /zipmap/i,
    ],
    [
      'no probabilities at all',
      [{ name: 'label', isTensor: true, type: 'int64', shape: ['N'] }],
      /no 2-D float output/,
    ],
  ] as Array<[string, ValueInfo[], RegExp]>)('refuses %s when probabilities are needed', (_what, outputs, message) => {
    expect(() => planOutputs(outputs, 'classification', true)).toThrow(message);
  });

  it('refuses an output name the model does not have', () => {
    expect(() => planOutputs(clf, 'classification', true, 'scores')).toThrow(/no tensor output "scores"/);
  });
});
