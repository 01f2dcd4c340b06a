import { describe, expect, it } from 'vitest';
import { runPython } from '../../../test/support/python.ts';
import {
  canonicalMetric,
  ClassificationAccumulator,
  labelKey,
  RegressionAccumulator,
  sortLabels,
  type MetricName,
} from './metrics.ts';

// scikit-learn computes the expected values on seeded random data; our accumulators must agree to 1e-9 relative.
const SCRIPT = String.raw`
import json, sys
import numpy as np
from sklearn import metrics as M
rng = np.random.default_rng(int(sys.argv[1]))
cases = []
def cls_case(name, labels, n, k):
    logits = rng.normal(size=(n, k))
    y_idx = np.where(rng.random(n) < 0.7, logits.argmax(1), rng.integers(0, k, n))  # informative but noisy
    p = np.exp(logits); p = (p / p.sum(1, keepdims=True)).astype(np.float32)
    p[1 : n // 50] = p[0]  # exact ties in scores
    p = p.astype(np.float64)
    classes = np.array(labels)
    y = classes[y_idx]
    pred = classes[p.argmax(1)]
    pred[:7] = classes[0]  # a few predictions that disagree with argmax: labels come from the label output
    exp = {'accuracy': M.accuracy_score(y, pred), 'log_loss': M.log_loss(y, p)}
    if k == 2:
        pos = classes[1]
        for m, f in [('precision', M.precision_score), ('recall', M.recall_score), ('f1', M.f1_score)]:
            exp[m] = f(y, pred, pos_label=pos)
        exp['roc_auc'] = M.roc_auc_score(y, p[:, 1])
    else:
        for m, f in [('precision', M.precision_score), ('recall', M.recall_score), ('f1', M.f1_score)]:
            exp[m] = f(y, pred, average='macro', zero_division=0)
        exp['roc_auc'] = M.roc_auc_score(y, p, multi_class='ovr', average='macro')
    cases.append({'name': name, 'kind': 'classification', 'truth': [str(v) for v in y.tolist()],
                  'pred': [str(v) for v in pred.tolist()], 'proba': p.ravel().tolist(), 'width': k, 'expected': exp})
cls_case('binary 0/1', [0, 1], 3001, 2)
cls_case('binary strings', ['no', 'yes'], 1500, 2)
cls_case('multiclass ints', [3, 10, 20, 100], 4000, 4)
cls_case('multiclass strings', ['a', 'b', 'c'], 2500, 3)
n = 5000
y = rng.normal(10, 3, n); yh = y + rng.normal(0, 1.5, n)
cases.append({'name': 'regression', 'kind': 'regression', 'truth': y.tolist(), 'pred': yh.tolist(), 'expected': {
  'mse': M.mean_squared_error(y, yh), 'rmse': M.root_mean_squared_error(y, yh), 'mae': M.mean_absolute_error(y, yh), 'r2': M.r2_score(y, yh)}})
print(json.dumps(cases))
`;

interface Case {
  name: string;
  kind: 'classification' | 'regression';
  truth: Array<string | number>;
  pred: Array<string | number>;
  proba?: number[];
  width?: number;
  expected: Record<string, number>;
}

const cases = JSON.parse(await runPython(SCRIPT, ['20261123'])) as Case[];

function closeTo(actual: number | undefined, expected: number): void {
  expect(actual).toBeTypeOf('number');
  const tol = 1e-9 * Math.max(Math.abs(expected), 1e-300);
  expect(Math.abs(actual! - expected), `got ${actual}, scikit-learn ${expected}`).toBeLessThanOrEqual(tol);
}

describe('metrics equal scikit-learn on seeded random data (1e-9 relative)', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const names = Object.keys(c.expected) as MetricName[];
    if (c.kind === 'classification') {
      const acc = new ClassificationAccumulator({ keepScores: true });
      const proba = Float64Array.from(c.proba!);
      const w = c.width!;
      // Uneven batches, to exercise the streaming path.
      for (let start = 0, b = 1; start < c.truth.length; start += b, b = b * 3 + 1) {
        const end = Math.min(c.truth.length, start + b);
        acc.add({
          truth: c.truth.slice(start, end).map((v) => labelKey(v)!),
          predicted: c.pred.slice(start, end).map((v) => labelKey(v)!),
          probabilities: proba.subarray(start * w, end * w),
          width: w,
        });
      }
      const got = acc.compute(names);
      for (const m of names) closeTo(got.values[m], c.expected[m]!);
    } else {
      const acc = new RegressionAccumulator();
      const y = c.truth as number[];
      const p = c.pred as number[];
      for (let start = 0; start < y.length; start += 777)
        acc.add(y.slice(start, start + 777), p.slice(start, start + 777));
      const got = acc.compute(names);
      for (const m of names) closeTo(got.values[m], c.expected[m]!);
    }
  });
});

describe('metric edge cases', () => {
  it.each([
    ['auc', 'roc_auc'],
    ['AUC', 'roc_auc'],
    ['logloss', 'log_loss'],
    ['log-loss', 'log_loss'],
    ['f1_score', 'f1'],
    ['r2', 'r2'],
    ['latency', undefined],
  ])('canonicalMetric(%s) = %s', (name, want) => {
    expect(canonicalMetric(name)).toBe(want);
  });

  it.each([
    [1, '1'],
    ['1.0', '1'],
    [' 2 ', '2'],
    [3n, '3'],
    [true, '1'],
    ['yes', 'yes'],
    ['', undefined],
    [null, undefined],
    [NaN, undefined],
  ])('labelKey(%s) = %s', (v, want) => {
    expect(labelKey(v)).toBe(want);
  });

  it('sorts numeric labels numerically, others by code point', () => {
    expect(sortLabels(['10', '9', '100'])).toEqual(['9', '10', '100']);
    expect(sortLabels(['b', 'B', 'a'])).toEqual(['B', 'a', 'b']);
  });

  it('derives predicted labels from probabilities when the model gives no label output', () => {
    const acc = new ClassificationAccumulator({ keepScores: true });
    acc.add({
      truth: ['0', '1', '1', '0'],
      probabilities: new Float32Array([0.9, 0.1, 0.2, 0.8, 0.6, 0.4, 0.3, 0.7]),
      width: 2,
    });
    const got = acc.compute(['accuracy', 'roc_auc']);
    expect(got.values.accuracy).toBe(0.5);
    expect(got.values.roc_auc).toBe(0.75); // positives 0.8, 0.4 vs negatives 0.1, 0.7: 3 of 4 pairs ordered
  });

  it.each([
    ['one class in the labels: roc_auc undefined', ['1', '1', '1'], ['roc_auc', 'log_loss'] as MetricName[]],
    ['no examples', [], ['accuracy'] as MetricName[]],
  ])('%s gives NaN with a note', (_what, truth, names) => {
    const acc = new ClassificationAccumulator({ keepScores: true });
    if (truth.length) {
      acc.add({ truth, probabilities: new Float64Array(truth.flatMap(() => [0.4, 0.6])), width: 2 });
    }
    const got = acc.compute(names);
    for (const m of names) {
      expect(got.values[m]).toBeNaN();
      expect(got.notes[m]).toBeTruthy();
    }
  });

  it('r2 of a constant target is 1 for a perfect fit and 0 otherwise (scikit-learn force_finite)', () => {
    const perfect = new RegressionAccumulator();
    perfect.add([2, 2, 2], [2, 2, 2]);
    expect(perfect.compute(['r2']).values.r2).toBe(1);
    const off = new RegressionAccumulator();
    off.add([2, 2, 2], [2, 3, 2]);
    expect(off.compute(['r2']).values.r2).toBe(0);
  });
});
