import type { Batch, Cell } from './dataset.ts';
import { EvaluationError } from './errors.ts';

/** What onnxruntime reports about one model input or output (a subset of its ValueMetadata). */
export interface ValueInfo {
  name: string;
  isTensor: boolean;
  type?: string;
  shape?: ReadonlyArray<number | string>;
}

export type FeedType = 'float32' | 'float64' | 'int64' | 'int32' | 'string' | 'bool';

/**
 * How dataset columns become model inputs.
 * - `matrix`: one 2-D input [N, F] fed from F feature columns, in the order of `features`.
 * - `columns`: one input per column, named like the column, each [N, 1] (what skl2onnx makes for mixed types).
 */
export type FeedPlan =
  | { kind: 'matrix'; input: string; type: 'float32' | 'float64'; features: string[] }
  | { kind: 'columns'; inputs: Array<{ input: string; column: string; type: FeedType; rank: number }> };

const FEED_TYPES: ReadonlySet<string> = new Set(['float32', 'float64', 'int64', 'int32', 'string', 'bool']);

/**
 * Decides how to feed a model from a dataset, from the model's input metadata alone.
 *
 * A single 2-D float input is fed from `features` when given, else from every column except the label, in the
 * dataset's column order; if it has a fixed width it must equal the number of feature columns. Otherwise each
 * input must be named like a dataset column. Any mismatch is an `InputMismatch` EvaluationError.
 */
export function planFeeds(
  inputs: readonly ValueInfo[],
  columns: readonly string[],
  label: string,
  features?: readonly string[],
): FeedPlan {
  if (inputs.length === 0) throw new EvaluationError('InputMismatch', 'the model declares no inputs');
  for (const i of inputs) {
    if (!i.isTensor) throw new EvaluationError('InputMismatch', `model input "${i.name}" is not a tensor`);
  }
  const only = inputs[0]!;
  const matrix =
    inputs.length === 1 &&
    (only.shape?.length ?? 2) === 2 &&
    (features !== undefined ||
      !columns.includes(only.name) ||
      (only.shape?.[1] !== 1 && only.shape?.[1] !== undefined));
  if (matrix) {
    if (only.type !== 'float32' && only.type !== 'float64') {
      throw new EvaluationError(
        'InputMismatch',
        `model input "${only.name}" has type ${only.type ?? 'unknown'}; a single matrix input must be float or double`,
      );
    }
    const feats = features ? [...features] : columns.filter((c) => c !== label);
    for (const f of feats) {
      if (!columns.includes(f))
        throw new EvaluationError('MissingColumn', `feature column "${f}" is not in the dataset`);
      if (f === label)
        throw new EvaluationError('InvalidEvaluationSpec', `the label column "${label}" is also a feature`);
    }
    const width = only.shape?.[1];
    if (typeof width === 'number' && width >= 0 && width !== feats.length) {
      throw new EvaluationError(
        'InputMismatch',
        `model input "${only.name}" expects ${width} features per row, the dataset gives ${feats.length} (${feats.join(', ')})`,
      );
    }
    return { kind: 'matrix', input: only.name, type: only.type, features: feats };
  }
  return {
    kind: 'columns',
    inputs: inputs.map((i) => {
      if (!columns.includes(i.name)) {
        throw new EvaluationError('InputMismatch', `model input "${i.name}" has no column of that name in the dataset`);
      }
      if (i.name === label) throw new EvaluationError('InputMismatch', `model input "${i.name}" is the label column`);
      const type = i.type ?? '';
      if (!FEED_TYPES.has(type)) {
        throw new EvaluationError('InputMismatch', `model input "${i.name}" has unsupported type ${type || 'unknown'}`);
      }
      const shape = i.shape ?? [];
      const extra = shape.slice(1);
      if (shape.length > 2 || extra.some((d) => typeof d === 'number' && d !== 1)) {
        throw new EvaluationError(
          'InputMismatch',
          `model input "${i.name}" has shape [${shape.join(', ')}]; a per-column input must be [N] or [N, 1]`,
        );
      }
      return { input: i.name, column: i.name, type: type as FeedType, rank: Math.max(1, shape.length) };
    }),
  };
}

export type FeedData = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array | string[];

/** A tensor to create: onnxruntime's `new Tensor(type, data, dims)`, kept abstract so this module stays pure. */
export interface FeedTensor {
  type: FeedType;
  data: FeedData;
  dims: number[];
}

/**
 * The input tensors for one batch. `firstRow` (0-based, over the whole dataset) names rows in error messages.
 * Empty cells become NaN for float inputs; a non-numeric cell in a numeric input is `InvalidData`.
 */
export function buildFeeds(
  plan: FeedPlan,
  batch: Batch,
  firstRow: number,
  scratch?: Map<string, Float32Array | Float64Array>,
): Record<string, FeedTensor> {
  const n = batch.length;
  if (plan.kind === 'matrix') {
    const f = plan.features.length;
    // The caller may pass the previous batch's array back: same size, same type, refilled (no garbage per batch).
    const prev = scratch?.get(plan.input);
    const data =
      prev?.length === n * f && (plan.type === 'float32') === prev instanceof Float32Array
        ? prev
        : plan.type === 'float32'
          ? new Float32Array(n * f)
          : new Float64Array(n * f);
    scratch?.set(plan.input, data);
    plan.features.forEach((name, j) => {
      const col = batch.columns.get(name)!;
      for (let i = 0; i < n; i++) data[i * f + j] = toNumber(col[i], name, firstRow + i);
    });
    return { [plan.input]: { type: plan.type, data, dims: [n, f] } };
  }
  const feeds: Record<string, FeedTensor> = {};
  for (const spec of plan.inputs) {
    const col = batch.columns.get(spec.column)!;
    const dims = spec.rank === 2 ? [n, 1] : [n];
    feeds[spec.input] = { type: spec.type, data: convertColumn(col, spec.type, spec.column, firstRow, n), dims };
  }
  return feeds;
}

function convertColumn(col: ArrayLike<Cell>, type: FeedType, name: string, firstRow: number, n: number): FeedData {
  switch (type) {
    case 'float32':
    case 'float64': {
      const out = type === 'float32' ? new Float32Array(n) : new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = toNumber(col[i], name, firstRow + i);
      return out;
    }
    case 'int64': {
      const out = new BigInt64Array(n);
      for (let i = 0; i < n; i++) out[i] = BigInt(toInteger(col[i], name, firstRow + i));
      return out;
    }
    case 'int32': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = toInteger(col[i], name, firstRow + i);
      return out;
    }
    case 'bool': {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        const v = col[i];
        out[i] = v === true || v === 'true' || v === 'True' || v === '1' || v === 1 ? 1 : 0;
      }
      return out;
    }
    case 'string': {
      const out = new Array<string>(n);
      for (let i = 0; i < n; i++) {
        const v = col[i];
        out[i] = v === null || v === undefined ? '' : String(v);
      }
      return out;
    }
  }
}

/** A cell as a float: numbers as they are, numeric strings parsed, empty as NaN. */
export function toNumber(v: Cell, column: string, row: number): number {
  if (typeof v === 'number') return v;
  if (v === null || v === undefined) return NaN;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  const x = Number(v);
  if (Number.isNaN(x) && !/^\s*nan\s*$/i.test(v)) {
    throw new EvaluationError('InvalidData', `column "${column}" row ${row + 1}: "${v.slice(0, 40)}" is not a number`);
  }
  return x;
}

function toInteger(v: Cell, column: string, row: number): number {
  const x = toNumber(v, column, row);
  if (!Number.isInteger(x)) {
    throw new EvaluationError('InvalidData', `column "${column}" row ${row + 1}: ${String(v)} is not an integer`);
  }
  return x;
}

export type Task = 'classification' | 'regression';

/** Which model outputs hold the predictions. */
export type OutputPlan =
  { task: 'classification'; label: string; probabilities?: string } | { task: 'regression'; prediction: string };

const LABEL_TYPES = new Set(['int64', 'int32', 'string', 'bool']);
const FLOAT_TYPES = new Set(['float32', 'float64']);

/**
 * Picks the outputs to score. Classification: the predicted-label tensor (int or string; `label` preferred) and,
 * when `needProbabilities`, a 2-D float tensor of class probabilities (`probabilities` preferred) whose columns
 * follow the sorted class labels, as scikit-learn's `classes_`. Regression: the first float tensor.
 */
export function planOutputs(
  outputs: readonly ValueInfo[],
  task: Task,
  needProbabilities: boolean,
  preferred?: string,
): OutputPlan {
  if (preferred !== undefined) {
    const named = outputs.find((o) => o.name === preferred);
    if (!named?.isTensor) {
      throw new EvaluationError(
        'OutputMismatch',
        `the model has no tensor output "${preferred}" (outputs: ${outputs.map((o) => o.name).join(', ')})`,
      );
    }
    if (task === 'regression') return { task, prediction: preferred };
    if (FLOAT_TYPES.has(named.type ?? '')) {
      const labels = outputs.filter((o) => o.isTensor && LABEL_TYPES.has(o.type ?? ''));
      const label = labels.find((o) => o.name === 'label') ?? labels[0];
      return { task, label: label?.name ?? '', probabilities: preferred };
    }
    if (needProbabilities) {
      throw new EvaluationError(
        'OutputMismatch',
        `output "${preferred}" holds labels, but the metrics need probabilities`,
      );
    }
    return { task, label: preferred };
  }
  const tensors = outputs.filter((o) => o.isTensor);
  if (task === 'regression') {
    const pred = tensors.find((o) => FLOAT_TYPES.has(o.type ?? ''));
    if (!pred)
      throw new EvaluationError('OutputMismatch', 'the model has no float output to use as the regression prediction');
    return { task, prediction: pred.name };
  }
  const labels = tensors.filter((o) => LABEL_TYPES.has(o.type ?? '') && (o.shape?.length ?? 1) <= 2);
  const label = labels.find((o) => o.name === 'label') ?? labels[0];
  const probs = tensors.filter((o) => FLOAT_TYPES.has(o.type ?? '') && o.shape?.length === 2 && o.shape[1] !== 1);
  const probabilities = probs.find((o) => /prob/i.test(o.name)) ?? probs[0];
  if (needProbabilities && !probabilities) {
    const zipmap = outputs.some((o) => !o.isTensor);
    throw new EvaluationError(
      'OutputMismatch',
      zipmap
        ? 'the model gives class probabilities only as a sequence of maps (skl2onnx ZipMap); export it with options={"zipmap": False}'
        : 'the model has no 2-D float output of class probabilities',
    );
  }
  if (!label && !probabilities) {
    throw new EvaluationError('OutputMismatch', 'the model has no label or probability output for classification');
  }
  const plan: OutputPlan = { task, label: label?.name ?? '' };
  if (probabilities) plan.probabilities = probabilities.name;
  return plan;
}
