/**
 * The gate's decision as a pure function of the evaluation spec and the scores (docs/adr/0032). No I/O, no clock.
 *
 * - Every `min` / `max` of a metric is one check (inclusive bounds).
 * - Every `baseline.maxRegression` entry is one MaxRegression check: the candidate may be worse than the baseline
 *   by at most that amount, "worse" meaning lower for higher-is-better metrics (auc, accuracy, ...) and higher for
 *   lower-is-better ones (logloss, rmse, ...). `delta` is always candidate minus baseline.
 * - No baseline (the InferenceService is missing or serves nothing): `onMissing: Pass` (the default) records the
 *   MaxRegression checks as skipped and passed; `Fail` fails them.
 * - `minExamples` (default 100) is a Min check on `examples`.
 * - A metric that could not be computed fails every check on it; a listed metric that could not be computed
 *   fails the gate even without a threshold. A gate without a single threshold fails: nothing passes by default.
 */
import type { EvaluationSpec, GateCheck } from '../api/generated.ts';
import { canonicalMetric, METRICS, type MetricName, type MetricValues } from './metrics.ts';

export interface BaselineScores {
  /** The baseline ModelVersion's name, e.g. ad-click-v6. */
  name: string;
  /** Its spec.version, for the summary ("vs v6"). */
  version?: number;
  scores: MetricValues;
}

export interface VerdictInput {
  evaluation: EvaluationSpec;
  examples: number;
  candidate: MetricValues;
  /** Present when the baseline was scored on the same rows. */
  baseline?: BaselineScores;
  /** Why there is no baseline although `evaluation.baseline` is set, e.g. "InferenceService ad-click serves no version". */
  baselineMissing?: string;
}

export interface Verdict {
  passed: boolean;
  checks: GateCheck[];
  /** The candidate's values by the metric names of the spec. */
  metrics: Record<string, number>;
  /** The baseline's values by the metric names of the spec. */
  baselineMetrics?: Record<string, number>;
  /** One line for `kubectl get mv`: `auc 0.812 (+0.004 vs v6)` or `FAILED auc 0.7 < 0.75`. */
  summary: string;
  /** A sentence for status.message and the Event. */
  message: string;
}

export const DEFAULT_MIN_EXAMPLES = 100;

/** The metrics an evaluation must compute for this spec (canonical names), or the unknown names. */
export function metricsToCompute(evaluation: EvaluationSpec): { metrics: MetricName[]; unknown: string[] } {
  const metrics = new Set<MetricName>();
  const unknown: string[] = [];
  for (const m of evaluation.metrics) {
    const c = canonicalMetric(m.name);
    if (c) metrics.add(c);
    else unknown.push(m.name);
  }
  for (const name of Object.keys(evaluation.baseline?.maxRegression ?? {})) {
    const c = canonicalMetric(name);
    if (c) metrics.add(c);
    else if (!unknown.includes(name)) unknown.push(name);
  }
  return { metrics: [...metrics], unknown };
}

export function computeVerdict(input: VerdictInput): Verdict {
  const { evaluation, examples, candidate, baseline } = input;
  const checks: GateCheck[] = [];
  const problems: string[] = [];
  const metrics: Record<string, number> = {};
  const baselineMetrics: Record<string, number> = {};
  const valueOf = (scores: MetricValues, name: string): { value?: number; note?: string } => {
    const c = canonicalMetric(name);
    if (!c) return { note: `unknown metric ${name}` };
    const v = scores.values[c];
    if (v === undefined) return { note: 'metric missing' };
    if (!Number.isFinite(v)) return { note: scores.notes[c] ?? 'metric could not be computed' };
    return { value: v };
  };

  const minExamples = evaluation.minExamples ?? DEFAULT_MIN_EXAMPLES;
  checks.push({
    metric: 'examples',
    type: 'Min',
    threshold: minExamples,
    value: examples,
    passed: examples >= minExamples,
    reason: examples >= minExamples ? `${examples} >= min ${minExamples}` : `examples ${examples} < min ${minExamples}`,
  });

  let thresholds = 0;
  for (const spec of evaluation.metrics) {
    const { value, note } = valueOf(candidate, spec.name);
    if (value !== undefined) metrics[spec.name] = value;
    if (baseline) {
      const b = valueOf(baseline.scores, spec.name).value;
      if (b !== undefined) baselineMetrics[spec.name] = b;
    }
    if (value === undefined && spec.min === undefined && spec.max === undefined) {
      problems.push(`${spec.name}: ${note}`);
    }
    for (const [type, threshold] of [
      ['Min', spec.min],
      ['Max', spec.max],
    ] as const) {
      if (threshold === undefined) continue;
      thresholds++;
      const check: GateCheck = { metric: spec.name, type, threshold, passed: false };
      if (value === undefined) {
        check.reason = `${spec.name}: ${note}`;
      } else {
        check.value = value;
        check.passed = type === 'Min' ? value >= threshold : value <= threshold;
        check.reason = check.passed
          ? `${spec.name} ${fmt(value)} ${type === 'Min' ? '>=' : '<='} ${type.toLowerCase()} ${fmt(threshold)}`
          : `${spec.name} ${fmt(value)} ${type === 'Min' ? '<' : '>'} ${type.toLowerCase()} ${fmt(threshold)}`;
      }
      checks.push(check);
    }
  }

  const regression = evaluation.baseline?.maxRegression ?? {};
  const onMissing = evaluation.baseline?.onMissing ?? 'Pass';
  const vs = baseline ? (baseline.version !== undefined ? `v${baseline.version}` : baseline.name) : '';
  for (const [name, allowed] of Object.entries(regression)) {
    thresholds++;
    const check: GateCheck = { metric: name, type: 'MaxRegression', threshold: allowed, passed: false };
    const { value, note } = valueOf(candidate, name);
    if (value !== undefined) check.value = value;
    if (!baseline) {
      const why = input.baselineMissing ?? 'no baseline';
      check.passed = onMissing === 'Pass';
      check.reason = check.passed ? `skipped: ${why} (onMissing: Pass)` : `${why} (onMissing: Fail)`;
    } else if (value === undefined) {
      check.reason = `${name}: ${note}`;
    } else {
      const b = valueOf(baseline.scores, name);
      if (b.value === undefined) {
        check.reason = `baseline ${name}: ${b.note}`;
      } else {
        const delta = value - b.value;
        const higherIsBetter = METRICS[canonicalMetric(name)!].higherIsBetter;
        const worseBy = higherIsBetter ? -delta : delta;
        check.baseline = b.value;
        check.delta = delta;
        check.passed = worseBy <= allowed;
        check.reason = check.passed
          ? `${name} ${fmt(value)} (${signed(delta)} vs ${vs}) within max regression ${fmt(allowed)}`
          : `${name} ${fmt(value)} is ${fmt(worseBy)} worse than ${vs} (${fmt(b.value)}), max regression ${fmt(allowed)}`;
      }
    }
    checks.push(check);
  }
  if (thresholds === 0) problems.push('no thresholds: set a min or max on a metric, or baseline.maxRegression');

  const failed = checks.find((c) => !c.passed);
  const passed = failed === undefined && problems.length === 0;
  let summary: string;
  let message: string;
  if (passed) {
    const first = evaluation.metrics.find((m) => metrics[m.name] !== undefined);
    summary = first ? `${first.name} ${fmt(metrics[first.name]!)}` : `${examples} examples`;
    if (first && baseline && baselineMetrics[first.name] !== undefined) {
      summary += ` (${signed(metrics[first.name]! - baselineMetrics[first.name]!)} vs ${vs})`;
    } else if (first && evaluation.baseline && !baseline) {
      summary += ' (no baseline)';
    }
    message = `All ${checks.length} checks passed on ${examples} examples${baseline ? ` against ${baseline.name}` : ''}.`;
  } else if (failed) {
    summary = `FAILED ${shortReason(failed, vs)}`;
    const n = checks.filter((c) => !c.passed).length;
    message = `${n} of ${checks.length} checks failed: ${checks
      .filter((c) => !c.passed)
      .map((c) => c.reason)
      .join('; ')}${problems.length ? `; ${problems.join('; ')}` : ''}.`;
  } else {
    summary = `FAILED ${problems[0]!}`;
    message = `The gate cannot pass: ${problems.join('; ')}.`;
  }
  const verdict: Verdict = { passed, checks, metrics, summary, message };
  if (baseline) verdict.baselineMetrics = baselineMetrics;
  return verdict;
}

function shortReason(c: GateCheck, vs: string): string {
  if (c.value === undefined || (c.type === 'MaxRegression' && c.delta === undefined)) return c.reason ?? c.metric;
  if (c.type === 'Min') return `${c.metric} ${fmt(c.value)} < ${fmt(c.threshold!)}`;
  if (c.type === 'Max') return `${c.metric} ${fmt(c.value)} > ${fmt(c.threshold!)}`;
  return `${c.metric} ${fmt(c.value)} (${signed(c.delta!)} vs ${vs}, max regression ${fmt(c.threshold!)})`;
}

/** Three significant digits, without exponent noise for ordinary values: 0.812, 0.7, 1234. */
export function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Math.abs(v) >= 1000) return String(Math.round(v));
  return String(Number(v.toPrecision(3)));
}

function signed(d: number): string {
  return (d >= 0 ? '+' : '') + fmt(d);
}
