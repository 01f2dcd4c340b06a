import { describe, expect, it } from 'vitest';
import type { EvaluationSpec } from '../api/generated.ts';
import type { MetricValues } from './metrics.ts';
import { computeVerdict, fmt, metricsToCompute, type BaselineScores, type VerdictInput } from './verdict.ts';

const dataset = { uri: 'gs://b/eval.csv', label: 'y' };
const scores = (values: MetricValues['values'], notes: MetricValues['notes'] = {}): MetricValues => ({ values, notes });
const spec = (over: Partial<EvaluationSpec>): EvaluationSpec => ({ dataset, metrics: [{ name: 'auc' }], ...over });
const v6 = (values: MetricValues['values']): BaselineScores => ({
  name: 'ad-click-v6',
  version: 6,
  scores: scores(values),
});

interface Row {
  name: string;
  input: VerdictInput;
  passed: boolean;
  summary: string;
  failing?: Array<[string, string]>; // [metric, type] of the failed checks
  reason?: RegExp;
}

const rows: Row[] = [
  {
    name: 'passes a min threshold',
    input: {
      evaluation: spec({ metrics: [{ name: 'auc', min: 0.75 }] }),
      examples: 1000,
      candidate: scores({ roc_auc: 0.8123 }),
    },
    passed: true,
    summary: 'auc 0.812',
  },
  {
    name: 'bounds are inclusive',
    input: {
      evaluation: spec({ metrics: [{ name: 'auc', min: 0.75, max: 0.75 }] }),
      examples: 1000,
      candidate: scores({ roc_auc: 0.75 }),
    },
    passed: true,
    summary: 'auc 0.75',
  },
  {
    name: 'fails under a min threshold, naming the check',
    input: {
      evaluation: spec({ metrics: [{ name: 'auc', min: 0.75 }] }),
      examples: 1000,
      candidate: scores({ roc_auc: 0.7 }),
    },
    passed: false,
    summary: 'FAILED auc 0.7 < 0.75',
    failing: [['auc', 'Min']],
    reason: /auc 0.7 < min 0.75/,
  },
  {
    name: 'fails over a max threshold (lower is better)',
    input: {
      evaluation: spec({
        metrics: [
          { name: 'auc', min: 0.7 },
          { name: 'logloss', max: 0.5 },
        ],
      }),
      examples: 1000,
      candidate: scores({ roc_auc: 0.8, log_loss: 0.61 }),
    },
    passed: false,
    summary: 'FAILED logloss 0.61 > 0.5',
    failing: [['logloss', 'Max']],
  },
  {
    name: 'passes within max regression of the baseline, showing the delta',
    input: {
      evaluation: spec({
        metrics: [{ name: 'auc', min: 0.75 }],
        baseline: { inferenceService: 'ad-click', maxRegression: { auc: 0.005 } },
      }),
      examples: 1000,
      candidate: scores({ roc_auc: 0.812 }),
      baseline: v6({ roc_auc: 0.808 }),
    },
    passed: true,
    summary: 'auc 0.812 (+0.004 vs v6)',
  },
  {
    name: 'fails when worse than the baseline by more than maxRegression although over the threshold',
    input: {
      evaluation: spec({
        metrics: [{ name: 'auc', min: 0.75 }],
        baseline: { inferenceService: 'ad-click', maxRegression: { auc: 0.005 } },
      }),
      examples: 1000,
      candidate: scores({ roc_auc: 0.8 }),
      baseline: v6({ roc_auc: 0.811 }),
    },
    passed: false,
    summary: 'FAILED auc 0.8 (-0.011 vs v6, max regression 0.005)',
    failing: [['auc', 'MaxRegression']],
    reason: /0.011 worse than v6/,
  },
  {
    name: 'regression of a lower-is-better metric means higher',
    input: {
      evaluation: spec({
        metrics: [{ name: 'rmse' }],
        baseline: { inferenceService: 's', maxRegression: { rmse: 0.1 } },
      }),
      examples: 1000,
      candidate: scores({ rmse: 1.25 }),
      baseline: v6({ rmse: 1.1 }),
    },
    passed: false,
    summary: 'FAILED rmse 1.25 (+0.15 vs v6, max regression 0.1)',
    failing: [['rmse', 'MaxRegression']],
  },
  {
    name: 'an improvement of a lower-is-better metric passes',
    input: {
      evaluation: spec({
        metrics: [{ name: 'rmse' }],
        baseline: { inferenceService: 's', maxRegression: { rmse: 0 } },
      }),
      examples: 1000,
      candidate: scores({ rmse: 0.9 }),
      baseline: v6({ rmse: 1.1 }),
    },
    passed: true,
    summary: 'rmse 0.9 (-0.2 vs v6)',
  },
  {
    name: 'the first model passes under onMissing: Pass (the default)',
    input: {
      evaluation: spec({
        metrics: [{ name: 'auc', min: 0.75 }],
        baseline: { inferenceService: 'ad-click', maxRegression: { auc: 0 } },
      }),
      examples: 1000,
      candidate: scores({ roc_auc: 0.8 }),
      baselineMissing: 'InferenceService ad-click does not exist',
    },
    passed: true,
    summary: 'auc 0.8 (no baseline)',
  },
  {
    name: 'the first model fails under onMissing: Fail',
    input: {
      evaluation: spec({
        metrics: [{ name: 'auc', min: 0.75 }],
        baseline: { inferenceService: 'ad-click', maxRegression: { auc: 0 }, onMissing: 'Fail' },
      }),
      examples: 1000,
      candidate: scores({ roc_auc: 0.8 }),
      baselineMissing: 'InferenceService ad-click serves no version',
    },
    passed: false,
    summary: 'FAILED InferenceService ad-click serves no version (onMissing: Fail)',
    failing: [['auc', 'MaxRegression']],
  },
  {
    name: 'too few examples fails',
    input: {
      evaluation: spec({ metrics: [{ name: 'auc', min: 0.5 }], minExamples: 1000 }),
      examples: 999,
      candidate: scores({ roc_auc: 0.9 }),
    },
    passed: false,
    summary: 'FAILED examples 999 < 1000',
    failing: [['examples', 'Min']],
  },
  {
    name: 'minExamples defaults to 100',
    input: {
      evaluation: spec({ metrics: [{ name: 'auc', min: 0.5 }] }),
      examples: 99,
      candidate: scores({ roc_auc: 0.9 }),
    },
    passed: false,
    summary: 'FAILED examples 99 < 100',
    failing: [['examples', 'Min']],
  },
  {
    name: 'a metric that could not be computed fails its check with the reason',
    input: {
      evaluation: spec({ metrics: [{ name: 'auc', min: 0.5 }] }),
      examples: 1000,
      candidate: scores(
        { roc_auc: NaN },
        { roc_auc: 'roc_auc needs every one of the model’s 2 classes in the eval labels; found 1' },
      ),
    },
    passed: false,
    summary: 'FAILED auc: roc_auc needs every one of the model’s 2 classes in the eval labels; found 1',
    failing: [['auc', 'Min']],
  },
  {
    name: 'a listed metric without threshold that could not be computed fails the gate',
    input: {
      evaluation: spec({ metrics: [{ name: 'accuracy', min: 0.5 }, { name: 'auc' }] }),
      examples: 1000,
      candidate: scores({ accuracy: 0.9, roc_auc: NaN }, { roc_auc: 'no probabilities' }),
    },
    passed: false,
    summary: 'FAILED auc: no probabilities',
  },
  {
    name: 'no thresholds at all: nothing passes by default',
    input: { evaluation: spec({ metrics: [{ name: 'auc' }] }), examples: 1000, candidate: scores({ roc_auc: 0.99 }) },
    passed: false,
    summary: 'FAILED no thresholds: set a min or max on a metric, or baseline.maxRegression',
  },
  {
    name: 'a baseline metric that could not be computed fails the regression check',
    input: {
      evaluation: spec({
        metrics: [{ name: 'auc' }],
        baseline: { inferenceService: 's', maxRegression: { auc: 0.01 } },
      }),
      examples: 1000,
      candidate: scores({ roc_auc: 0.8 }),
      baseline: v6({ roc_auc: NaN }),
    },
    passed: false,
    summary: 'FAILED baseline auc: metric could not be computed',
    failing: [['auc', 'MaxRegression']],
  },
];

describe('computeVerdict', () => {
  it.each(rows.map((r) => [r.name, r] as const))('%s', (_name, r) => {
    const v = computeVerdict(r.input);
    expect(v.passed).toBe(r.passed);
    expect(v.summary).toBe(r.summary);
    if (r.failing) expect(v.checks.filter((c) => !c.passed).map((c) => [c.metric, c.type])).toEqual(r.failing);
    if (r.reason) expect(v.message).toMatch(r.reason);
    // Every check states its outcome in words.
    for (const c of v.checks) expect(c.reason).toBeTruthy();
  });

  it('records value, baseline, delta and threshold on a regression check', () => {
    const v = computeVerdict(rows[4]!.input);
    expect(v.checks).toContainEqual(
      expect.objectContaining({
        metric: 'auc',
        type: 'MaxRegression',
        value: 0.812,
        baseline: 0.808,
        threshold: 0.005,
        passed: true,
      }),
    );
    const delta = v.checks.find((c) => c.type === 'MaxRegression')!.delta!;
    expect(delta).toBeCloseTo(0.004, 12);
    expect(v.metrics).toEqual({ auc: 0.812 });
    expect(v.baselineMetrics).toEqual({ auc: 0.808 });
  });

  it('lists the metrics to compute, including maxRegression-only ones, and unknown names', () => {
    expect(
      metricsToCompute(
        spec({
          metrics: [{ name: 'auc' }, { name: 'logloss' }, { name: 'latency' }],
          baseline: { inferenceService: 's', maxRegression: { f1: 0 } },
        }),
      ),
    ).toEqual({ metrics: ['roc_auc', 'log_loss', 'f1'], unknown: ['latency'] });
  });

  it.each([
    [0.81234, '0.812'],
    [0.7, '0.7'],
    [-0.0112, '-0.0112'],
    [1234.6, '1235'],
    [0, '0'],
  ])('fmt(%s) = %s', (v, s) => {
    expect(fmt(v)).toBe(s);
  });
});
