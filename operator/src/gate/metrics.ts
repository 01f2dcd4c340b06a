/**
 * Evaluation metrics, accumulated batch by batch, with scikit-learn's definitions (docs/adr/0031):
 *
 * | metric | definition (scikit-learn call it equals) |
 * |---|---|
 * | accuracy | `accuracy_score(y, pred)` |
 * | precision, recall, f1 | binary (2 classes): `*_score(y, pred, pos_label=classes[1])`, the larger of the two sorted labels; more classes: `average='macro'` over the sorted union of true and predicted labels; 0 where undefined (`zero_division` default) |
 * | roc_auc | binary: `roc_auc_score(y, proba[:, 1])`; more classes: `multi_class='ovr', average='macro'` |
 * | log_loss | `log_loss(y, proba)` with probabilities clipped to [eps, 1 - eps], eps = float64 machine epsilon |
 * | mse, rmse, mae, r2 | `mean_squared_error`, `root_mean_squared_error`, `mean_absolute_error`, `r2_score` (force_finite: 1 or 0 for constant y) |
 *
 * Probability columns follow the sorted class labels, as scikit-learn's `classes_` and skl2onnx's output do.
 * Memory: counts are O(classes^2); roc_auc keeps one score per row per needed column (Float32/64Array), nothing else
 * grows with the data.
 */

export type MetricName =
  'accuracy' | 'precision' | 'recall' | 'f1' | 'roc_auc' | 'log_loss' | 'mse' | 'rmse' | 'mae' | 'r2';

export interface MetricInfo {
  task: 'classification' | 'regression';
  higherIsBetter: boolean;
  /** Needs class probabilities, not only predicted labels. */
  needsProbabilities: boolean;
}

export const METRICS: Readonly<Record<MetricName, MetricInfo>> = {
  accuracy: { task: 'classification', higherIsBetter: true, needsProbabilities: false },
  precision: { task: 'classification', higherIsBetter: true, needsProbabilities: false },
  recall: { task: 'classification', higherIsBetter: true, needsProbabilities: false },
  f1: { task: 'classification', higherIsBetter: true, needsProbabilities: false },
  roc_auc: { task: 'classification', higherIsBetter: true, needsProbabilities: true },
  log_loss: { task: 'classification', higherIsBetter: false, needsProbabilities: true },
  mse: { task: 'regression', higherIsBetter: false, needsProbabilities: false },
  rmse: { task: 'regression', higherIsBetter: false, needsProbabilities: false },
  mae: { task: 'regression', higherIsBetter: false, needsProbabilities: false },
  r2: { task: 'regression', higherIsBetter: true, needsProbabilities: false },
};

const ALIASES: Readonly<Record<string, MetricName>> = {
  accuracy: 'accuracy',
  acc: 'accuracy',
  precision: 'precision',
  recall: 'recall',
  f1: 'f1',
  f1_score: 'f1',
  auc: 'roc_auc',
  roc_auc: 'roc_auc',
  rocauc: 'roc_auc',
  log_loss: 'log_loss',
  logloss: 'log_loss',
  cross_entropy: 'log_loss',
  mse: 'mse',
  rmse: 'rmse',
  mae: 'mae',
  r2: 'r2',
};

/** The metric a user-facing name denotes (`auc` = `roc_auc`, `logloss` = `log_loss`, case and `-` ignored). */
export function canonicalMetric(name: string): MetricName | undefined {
  return ALIASES[name.toLowerCase().replace(/-/g, '_')];
}

/** Computed values; a metric that is undefined on this data is NaN with a `notes` entry saying why. */
export interface MetricValues {
  values: Partial<Record<MetricName, number>>;
  notes: Partial<Record<MetricName, string>>;
}

const EPS64 = 2.220446049250313e-16;

/** Compensated (Neumaier) sum, so long streams agree with numpy's pairwise sums far below 1e-9 relative. */
class Sum {
  #s = 0;
  #c = 0;
  add(x: number): void {
    const t = this.#s + x;
    this.#c += Math.abs(this.#s) >= Math.abs(x) ? this.#s - t + x : x - t + this.#s;
    this.#s = t;
  }
  get value(): number {
    return this.#s + this.#c;
  }
}

/** A class label as a comparable key: numbers (also numeric strings and int64) in canonical form. */
export function labelKey(v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'number') return Number.isNaN(v) ? undefined : String(v);
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  if (s === '') return undefined;
  const n = Number(s);
  return Number.isNaN(n) ? s : String(n);
}

/** Sorts labels as numpy does for one array: numerically when all are numbers, else by code point. */
export function sortLabels(keys: string[]): string[] {
  const numeric = keys.every((k) => !Number.isNaN(Number(k)));
  return [...keys].sort(numeric ? (a, b) => Number(a) - Number(b) : (a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

export interface ClassificationBatch {
  /** True label keys (labelKey), one per row. */
  truth: readonly string[];
  /** Predicted label keys; when absent they are the argmax of `probabilities`. */
  predicted?: readonly string[];
  /** Row-major [rows, width] class probabilities, columns in sorted-label order. */
  probabilities?: Float32Array | Float64Array;
  width?: number;
}

/** Streams a classifier's outputs into the classification metrics. */
export class ClassificationAccumulator {
  readonly #ids = new Map<string, number>();
  readonly #keys: string[] = [];
  /** confusion[t][p]: rows with true id t predicted as id p. */
  readonly #confusion: number[][] = [];
  readonly #trueCounts: number[] = [];
  #n = 0;
  #width: number | undefined;
  // log_loss: per true id, per probability column, the sum of -log(clip(p)).
  readonly #nll: Sum[][] = [];
  // roc_auc: per row, the true id and the scores of the needed columns.
  readonly #keepScores: boolean;
  /** Per true label id: chunks of its rows' scores (the positive column for binary, all columns otherwise). */
  readonly #scoresByTruth: Array<Array<Float32Array | Float64Array>> = [];

  constructor(options: { keepScores: boolean }) {
    this.#keepScores = options.keepScores;
  }

  get examples(): number {
    return this.#n;
  }

  #id(key: string): number {
    let id = this.#ids.get(key);
    if (id === undefined) {
      id = this.#keys.length;
      this.#ids.set(key, id);
      this.#keys.push(key);
      this.#trueCounts.push(0);
      this.#nll.push([]);
    }
    return id;
  }

  add(batch: ClassificationBatch): void {
    const rows = batch.truth.length;
    const probs = batch.probabilities;
    const width = batch.width ?? 0;
    if (probs) {
      if (this.#width === undefined) this.#width = width;
      else if (this.#width !== width) throw new Error(`probability width changed from ${this.#width} to ${width}`);
    }
    const truthIds = this.#keepScores && probs ? new Int32Array(rows) : undefined;
    for (let i = 0; i < rows; i++) {
      const t = this.#id(batch.truth[i]!);
      let predKey = batch.predicted?.[i];
      if (predKey === undefined && probs) predKey = `\u0000col${argmax(probs, i * width, width)}`;
      const p = this.#id(predKey ?? '');
      this.#trueCounts[t]!++;
      const row = (this.#confusion[t] ??= []);
      row[p] = (row[p] ?? 0) + 1;
      if (probs) {
        const sums = this.#nll[t]!;
        for (let j = 0; j < width; j++) {
          const q = Math.min(Math.max(probs[i * width + j]!, EPS64), 1 - EPS64);
          (sums[j] ??= new Sum()).add(-Math.log(q));
        }
      }
      if (truthIds) truthIds[i] = t;
    }
    this.#n += rows;
    if (truthIds && probs) {
      // Binary: only the positive column is needed. Rows are grouped by true label, in the model's precision.
      const kept = width === 2 ? 1 : width;
      const counts = new Map<number, number>();
      for (let i = 0; i < rows; i++) counts.set(truthIds[i]!, (counts.get(truthIds[i]!) ?? 0) + 1);
      const out = new Map<number, { a: Float32Array | Float64Array; at: number }>();
      for (const [t, c] of counts) {
        const a = probs instanceof Float32Array ? new Float32Array(c * kept) : new Float64Array(c * kept);
        out.set(t, { a, at: 0 });
        (this.#scoresByTruth[t] ??= []).push(a);
      }
      for (let i = 0; i < rows; i++) {
        const o = out.get(truthIds[i]!)!;
        if (kept === 1) o.a[o.at++] = probs[i * 2 + 1]!;
        else for (let j = 0; j < width; j++) o.a[o.at++] = probs[i * width + j]!;
      }
    }
  }

  /** One-vs-rest AUC of the label id `positive`, scored by column `col` of rows stored `width` wide. */
  #ovrAuc(positive: number, width: number, col: number): number {
    const stored = width === 2 ? 1 : width;
    const c = width === 2 ? 0 : col;
    const all = this.#scoresByTruth.flat();
    const f32 = all.every((a) => a instanceof Float32Array);
    const pos = gather(this.#scoresByTruth[positive] ?? [], stored, c, f32);
    const neg = gather(
      this.#scoresByTruth.flatMap((chunks, t) => (t === positive ? [] : chunks)),
      stored,
      c,
      f32,
    );
    return aucFromSorted(pos, neg);
  }

  /** Computes the requested metrics over everything added. */
  compute(names: readonly MetricName[]): MetricValues {
    const out: MetricValues = { values: {}, notes: {} };
    const set = (m: MetricName, v: number, note?: string): void => {
      out.values[m] = v;
      if (note !== undefined) out.notes[m] = note;
    };
    if (this.#n === 0) {
      for (const m of names) set(m, NaN, 'no examples');
      return out;
    }
    // Argmax-derived predictions map back to labels only through the sorted true labels.
    const trueKeys = sortLabels(this.#keys.filter((_k, id) => this.#trueCounts[id]! > 0));
    const predKey = (id: number): string => {
      const k = this.#keys[id]!;
      if (!k.startsWith('\u0000col')) return k;
      return trueKeys[Number(k.slice(4))] ?? k;
    };
    const confusion = new Map<string, Map<string, number>>();
    this.#confusion.forEach((row, t) =>
      row.forEach((c, p) => {
        const tk = this.#keys[t]!;
        const pk = predKey(p);
        const r = confusion.get(tk) ?? new Map<string, number>();
        r.set(pk, (r.get(pk) ?? 0) + c);
        confusion.set(tk, r);
      }),
    );
    let correct = 0;
    for (const [tk, r] of confusion) correct += r.get(tk) ?? 0;
    const union = sortLabels([
      ...new Set([...confusion.keys(), ...[...confusion.values()].flatMap((r) => [...r.keys()])]),
    ]);
    for (const m of names) {
      switch (m) {
        case 'accuracy':
          set(m, correct / this.#n);
          break;
        case 'precision':
        case 'recall':
        case 'f1': {
          if (union.length < 2) {
            set(m, NaN, `only one class (${union[0] ?? ''}) in labels and predictions`);
            break;
          }
          const perClass = (k: string): number => {
            const tp = confusion.get(k)?.get(k) ?? 0;
            let fp = 0;
            let fn = 0;
            for (const [tk, r] of confusion) {
              if (tk !== k) fp += r.get(k) ?? 0;
              else for (const [pk, c] of r) if (pk !== k) fn += c;
            }
            if (m === 'precision') return tp + fp === 0 ? 0 : tp / (tp + fp);
            if (m === 'recall') return tp + fn === 0 ? 0 : tp / (tp + fn);
            return 2 * tp + fp + fn === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
          };
          if (union.length === 2) set(m, perClass(union[1]!));
          else set(m, union.reduce((s, k) => s + perClass(k), 0) / union.length);
          break;
        }
        case 'log_loss': {
          const w = this.#width;
          if (w === undefined) {
            set(m, NaN, 'the model gives no probabilities');
            break;
          }
          if (trueKeys.length !== w) {
            set(m, NaN, `the eval set has ${trueKeys.length} classes, the model ${w}`);
            break;
          }
          const total = new Sum();
          trueKeys.forEach((k, j) => total.add(this.#nll[this.#ids.get(k)!]![j]?.value ?? 0));
          set(m, total.value / this.#n);
          break;
        }
        case 'roc_auc': {
          const w = this.#width;
          if (w === undefined || !this.#keepScores) {
            set(m, NaN, 'the model gives no probabilities');
            break;
          }
          if (trueKeys.length !== w || w < 2) {
            set(
              m,
              NaN,
              `roc_auc needs every one of the model's ${w} classes in the eval labels; found ${trueKeys.length}`,
            );
            break;
          }
          if (w === 2) {
            const pos = this.#ids.get(trueKeys[1]!)!;
            set(m, this.#ovrAuc(pos, 1, 0));
          } else {
            let sum = 0;
            trueKeys.forEach((k, j) => (sum += this.#ovrAuc(this.#ids.get(k)!, w, j)));
            set(m, sum / w);
          }
          break;
        }
        default:
          set(m, NaN, `${m} is not a classification metric`);
      }
    }
    return out;
  }
}

function argmax(a: Float32Array | Float64Array, offset: number, width: number): number {
  let best = 0;
  for (let j = 1; j < width; j++) if (a[offset + j]! > a[offset + best]!) best = j;
  return best;
}

/**
 * Area under the ROC curve of "truth == positive" scored by `values`, from the scores of the positives and of the
 * negatives, each sorted (native typed-array sort: no boxing, in place). Ties between a positive and a negative
 * count half: the trapezoidal rule over the tie-collapsed curve, as roc_curve + auc compute it.
 */
export function aucFromSorted(pos: Float32Array | Float64Array, neg: Float32Array | Float64Array): number {
  if (pos.length === 0 || neg.length === 0) return NaN;
  // For each positive, count negatives below it and tied with it; walk both ascending.
  let below = 0;
  let ties = 0;
  let j = 0;
  let area = 0;
  let prev = NaN;
  for (let i = 0; i < pos.length; i++) {
    const v = pos[i]!;
    if (v !== prev) {
      while (j < neg.length && neg[j]! < v) j++;
      below = j;
      let k = j;
      while (k < neg.length && neg[k] === v) k++;
      ties = k - j;
      prev = v;
    }
    area += below + ties / 2;
  }
  return area / (pos.length * neg.length);
}

function gather(
  chunks: ReadonlyArray<Float32Array | Float64Array>,
  width: number,
  col: number,
  f32: boolean,
): Float32Array | Float64Array {
  const n = chunks.reduce((s, c) => s + c.length / width, 0);
  const out = f32 ? new Float32Array(n) : new Float64Array(n);
  let o = 0;
  for (const c of chunks) for (let i = col; i < c.length; i += width) out[o++] = c[i]!;
  return out.sort();
}

/** Streams a regressor's predictions into mse, rmse, mae and r2. */
export class RegressionAccumulator {
  #n = 0;
  readonly #se = new Sum();
  readonly #ae = new Sum();
  // Welford's running mean and sum of squared deviations of y.
  #mean = 0;
  #m2 = 0;

  get examples(): number {
    return this.#n;
  }

  add(truth: ArrayLike<number>, predicted: ArrayLike<number>): void {
    for (let i = 0; i < truth.length; i++) {
      const y = truth[i]!;
      const e = y - predicted[i]!;
      this.#se.add(e * e);
      this.#ae.add(Math.abs(e));
      this.#n++;
      const d = y - this.#mean;
      this.#mean += d / this.#n;
      this.#m2 += d * (y - this.#mean);
    }
  }

  compute(names: readonly MetricName[]): MetricValues {
    const out: MetricValues = { values: {}, notes: {} };
    for (const m of names) {
      if (this.#n === 0) {
        out.values[m] = NaN;
        out.notes[m] = 'no examples';
        continue;
      }
      switch (m) {
        case 'mse':
          out.values[m] = this.#se.value / this.#n;
          break;
        case 'rmse':
          out.values[m] = Math.sqrt(this.#se.value / this.#n);
          break;
        case 'mae':
          out.values[m] = this.#ae.value / this.#n;
          break;
        case 'r2': {
          const sse = this.#se.value;
          out.values[m] = this.#m2 === 0 ? (sse === 0 ? 1 : 0) : 1 - sse / this.#m2;
          break;
        }
        default:
          out.values[m] = NaN;
          out.notes[m] = `${m} is not a regression metric`;
      }
    }
    return out;
  }
}
