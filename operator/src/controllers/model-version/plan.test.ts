import { describe, expect, it } from 'vitest';
import type { ModelVersionStatus } from '../../api/generated.ts';
import { computeVerdict } from '../../gate/verdict.ts';
import { planFinalStatus, planModelVersion, retryDelayMs, type GateRun } from './plan.ts';

const NOW = Date.UTC(2026, 10, 23, 16, 0, 0);
const base = { generation: 1, model: 'ad-click', nowMs: NOW };
const ready = (reason: string, status: 'True' | 'False' = 'False') => ({
  type: 'Ready',
  status,
  reason,
  message: 'm',
  lastTransitionTime: '2026-11-23T15:00:00Z',
  observedGeneration: 1,
});

interface Row {
  name: string;
  status?: ModelVersionStatus;
  run: GateRun;
  phase?: string;
  events: string[];
  submit: boolean;
  requeueAfterMs?: number;
  noPatch?: boolean;
}

const rows: Row[] = [
  {
    name: 'a new version is queued',
    run: { state: 'none' },
    phase: 'Pending',
    events: ['EvaluationQueued'],
    submit: true,
  },
  {
    name: 'after an operator restart an Evaluating version is evaluated again',
    status: { phase: 'Evaluating', observedGeneration: 1, message: 'x', conditions: [ready('Evaluating')] },
    run: { state: 'none' },
    phase: 'Pending',
    events: ['EvaluationQueued'],
    submit: true,
  },
  {
    name: 'waiting behind another candidate of the model',
    status: { phase: 'Pending' },
    run: { state: 'queued', ahead: 1 },
    phase: 'Pending',
    events: [],
    submit: false,
    requeueAfterMs: 30_000,
  },
  {
    name: 'running',
    status: { phase: 'Pending' },
    run: { state: 'running', baseline: 'ad-click-v6' },
    phase: 'Evaluating',
    events: ['EvaluationStarted'],
    submit: false,
  },
  {
    name: 'a transient failure keeps Evaluating and retries later',
    status: { phase: 'Evaluating', observedGeneration: 1, message: 'x', conditions: [ready('Evaluating')] },
    run: {
      state: 'retrying',
      attempts: 2,
      retryAtMs: NOW + 10_000,
      reason: 'StorageUnavailable',
      message: 'read gs://b/m: storage unavailable',
    },
    phase: 'Evaluating',
    events: ['EvaluationRetrying'],
    submit: false,
    requeueAfterMs: 10_000,
  },
  {
    name: 'a due retry is submitted',
    status: {
      phase: 'Evaluating',
      observedGeneration: 1,
      message: 'read gs://b/m: storage unavailable (attempt 2; retrying in 10s)',
      conditions: [ready('StorageUnavailable')],
    },
    run: {
      state: 'retrying',
      attempts: 2,
      retryAtMs: NOW,
      reason: 'StorageUnavailable',
      message: 'read gs://b/m: storage unavailable',
    },
    events: [],
    submit: true,
    noPatch: true,
  },
  {
    name: 'Passed is final',
    status: { phase: 'Passed', observedGeneration: 1, conditions: [] },
    run: { state: 'none' },
    phase: 'Passed',
    events: [],
    submit: false,
  },
  {
    name: 'Failed is final',
    status: { phase: 'Failed', observedGeneration: 1, message: 'm', conditions: [ready('GateFailed')] },
    run: { state: 'none' },
    events: [],
    submit: false,
    noPatch: true,
  },
  {
    name: 'written by this process, cache not caught up yet',
    status: { phase: 'Evaluating' },
    run: { state: 'done' },
    events: [],
    submit: false,
    noPatch: true,
    requeueAfterMs: 1000,
  },
];

describe('planModelVersion', () => {
  it.each(rows.map((r) => [r.name, r] as const))('%s', (_n, r) => {
    const plan = planModelVersion({ ...base, status: r.status, run: r.run });
    expect(plan.submit).toBe(r.submit);
    expect(plan.events.map((e) => e.reason)).toEqual(r.events);
    expect(plan.requeueAfterMs).toBe(r.requeueAfterMs);
    if (r.noPatch) expect(plan.patch).toBeUndefined();
    if (r.phase) expect(plan.patch?.phase ?? r.status?.phase).toBe(r.phase);
  });

  it('writes nothing when the status already says it (a reconcile that changes nothing writes nothing)', () => {
    const first = planModelVersion({ ...base, status: undefined, run: { state: 'queued', ahead: 0 } });
    const again = planModelVersion({
      ...base,
      status: first.patch,
      run: { state: 'queued', ahead: 0 },
    });
    expect(again.patch).toBeUndefined();
    expect(again.events).toEqual([]);
  });

  it('names the failure reason on the Ready condition while retrying', () => {
    const plan = planModelVersion({
      ...base,
      status: undefined,
      run: { state: 'retrying', attempts: 1, retryAtMs: NOW + 5000, reason: 'StorageUnavailable', message: 'down' },
    });
    expect(plan.patch?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'StorageUnavailable',
    });
    expect(plan.patch?.message).toBe('down (attempt 1; retrying in 5s)');
  });

  it.each([
    [1, 5_000],
    [2, 10_000],
    [7, 300_000],
    [20, 300_000],
  ])('retry %i waits %i ms', (attempts, ms) => {
    expect(retryDelayMs(attempts)).toBe(ms);
  });
});

describe('planFinalStatus', () => {
  const evaluation = {
    dataset: { uri: 'gs://b/e.csv', label: 'y' },
    metrics: [{ name: 'auc', min: 0.75 }],
    baseline: { inferenceService: 'ad-click', maxRegression: { auc: 0.005 } },
  };

  it('a passed verdict: phase Passed, the gate with checks, digest and baseline, Ready True, GatePassed', () => {
    const verdict = computeVerdict({
      evaluation,
      examples: 1000,
      candidate: { values: { roc_auc: 0.812 }, notes: {} },
      baseline: { name: 'ad-click-v6', version: 6, scores: { values: { roc_auc: 0.808 }, notes: {} } },
    });
    const { patch, event } = planFinalStatus(undefined, 1, {
      kind: 'verdict',
      verdict,
      examples: 1000,
      datasetDigest: 'sha256:ab',
      baseline: 'ad-click-v6',
      evaluatedAtMs: NOW,
    });
    expect(patch).toMatchObject({
      phase: 'Passed',
      observedGeneration: 1,
      gate: {
        evaluatedAt: '2026-11-23T16:00:00Z',
        datasetDigest: 'sha256:ab',
        examples: 1000,
        summary: 'auc 0.812 (+0.004 vs v6)',
        baseline: { modelVersion: 'ad-click-v6', metrics: { auc: 0.808 } },
        metrics: { auc: 0.812 },
      },
    });
    expect(patch.gate?.checks).toHaveLength(3);
    expect(patch.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True', reason: 'GatePassed' });
    expect(event).toEqual({ type: 'Normal', reason: 'GatePassed', note: 'auc 0.812 (+0.004 vs v6)' });
  });

  it('a permanent error: phase Failed with the reason on conditions, summary and Event', () => {
    const { patch, event } = planFinalStatus(undefined, 1, {
      kind: 'failed',
      reason: 'ArtifactChecksumMismatch',
      message: 'model artifact: sha256 mismatch',
      evaluatedAtMs: NOW,
    });
    expect(patch.phase).toBe('Failed');
    expect(patch.gate?.summary).toBe('FAILED ArtifactChecksumMismatch: model artifact: sha256 mismatch');
    expect(patch.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'ArtifactChecksumMismatch',
    });
    expect(patch.conditions?.find((c) => c.type === 'Evaluated')).toMatchObject({
      status: 'False',
      reason: 'ArtifactChecksumMismatch',
    });
    expect(event).toMatchObject({ type: 'Warning', reason: 'ArtifactChecksumMismatch' });
  });
});
