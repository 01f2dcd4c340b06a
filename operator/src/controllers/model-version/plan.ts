/**
 * What the ModelVersion controller does next, as a pure function of the object's status, the state of its
 * evaluation in this process and the time (docs/adr/0033). No I/O.
 *
 * Pending (queued behind other evaluations of the same model) -> Evaluating -> Passed | Failed. Passed and
 * Failed are final for a generation (the spec is immutable); the evaluation job itself writes them, under the
 * model's lock, so the next candidate of the model sees them. A transient failure keeps Evaluating, with the
 * reason, and retries with exponential backoff.
 */
import type { Condition } from '../../api/conditions.ts';
import { findCondition, setCondition } from '../../api/conditions.ts';
import type { GateStatus, ModelVersionPhase, ModelVersionStatus } from '../../api/generated.ts';
import type { Verdict } from '../../gate/verdict.ts';

/** The evaluation of one ModelVersion generation as this operator process knows it. */
export type GateRun =
  | { state: 'none' }
  /** This process evaluated and wrote the final status; the cache has not caught up yet. */
  | { state: 'done' }
  | { state: 'queued'; ahead: number }
  | { state: 'running'; baseline?: string }
  | { state: 'retrying'; attempts: number; retryAtMs: number; reason: string; message: string };

export interface PlanInput {
  generation: number;
  status: ModelVersionStatus | undefined;
  run: GateRun;
  model: string;
  nowMs: number;
}

export interface PlannedEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  note: string;
}

export interface ModelVersionPlan {
  /** Merge patch of the status, or undefined when the status already says this. */
  patch: Partial<ModelVersionStatus> | undefined;
  events: PlannedEvent[];
  /** Queue an evaluation of this generation. */
  submit: boolean;
  requeueAfterMs?: number;
}

/** Retry delay after the `attempts`-th transient failure: 5 s doubling, at most 5 min. */
export function retryDelayMs(attempts: number): number {
  return Math.min(5_000 * 2 ** Math.max(0, attempts - 1), 300_000);
}

export function isFinal(status: ModelVersionStatus | undefined, generation: number): boolean {
  return (status?.phase === 'Passed' || status?.phase === 'Failed') && status.observedGeneration === generation;
}

export function planModelVersion(input: PlanInput): ModelVersionPlan {
  const { generation, status, run, nowMs } = input;
  const now = new Date(nowMs);
  if (isFinal(status, generation)) {
    // Final: the evaluation wrote the verdict and a Ready condition with the precise reason. Only repair a missing
    // or contradicting Ready condition (e.g. a status written by hand or by an older operator).
    const passed = status!.phase === 'Passed';
    const ready = findCondition(status!.conditions, 'Ready');
    if (ready && ready.status === (passed ? 'True' : 'False') && ready.observedGeneration === generation) {
      return { patch: undefined, events: [], submit: false };
    }
    return finish(status, generation, status!.phase!, status!.message ?? '', {
      ready: passed
        ? { status: 'True', reason: 'GatePassed', message: status!.gate?.summary ?? 'The evaluation gate passed.' }
        : {
            status: 'False',
            reason: 'GateFailed',
            message: status!.message ?? status!.gate?.summary ?? 'The gate failed.',
          },
      now,
      events: [],
      submit: false,
    });
  }
  switch (run.state) {
    case 'done':
      // Look again shortly: the informer will bring the final status.
      return { patch: undefined, events: [], submit: false, requeueAfterMs: 1000 };
    case 'none':
      return finish(status, generation, 'Pending', `Waiting for an evaluation slot for model ${input.model}.`, {
        ready: { status: 'False', reason: 'EvaluationPending', message: 'The evaluation gate has not run yet.' },
        now,
        events:
          status?.phase === 'Pending'
            ? []
            : [{ type: 'Normal', reason: 'EvaluationQueued', note: 'Queued for evaluation.' }],
        submit: true,
      });
    case 'queued': {
      const msg =
        run.ahead > 0
          ? `Waiting for ${run.ahead} earlier evaluation${run.ahead > 1 ? 's' : ''} of model ${input.model}.`
          : `Waiting for an evaluation slot for model ${input.model}.`;
      const plan = finish(status, generation, 'Pending', msg, {
        ready: { status: 'False', reason: 'EvaluationPending', message: msg },
        now,
        events: status?.phase === 'Pending' ? [] : [{ type: 'Normal', reason: 'EvaluationQueued', note: msg }],
        submit: false,
      });
      // Insurance: look again even if nothing else changes (an older version it waits for may have gone).
      plan.requeueAfterMs = 30_000;
      return plan;
    }
    case 'running': {
      const msg = `Scoring the candidate${run.baseline ? ` and ${run.baseline}` : ''} on the evaluation set.`;
      const wasRunning =
        status?.phase === 'Evaluating' && findCondition(status.conditions, 'Ready')?.reason === 'Evaluating';
      return finish(status, generation, 'Evaluating', msg, {
        ready: { status: 'False', reason: 'Evaluating', message: msg },
        now,
        events: wasRunning ? [] : [{ type: 'Normal', reason: 'EvaluationStarted', note: msg }],
        submit: false,
      });
    }
    case 'retrying': {
      const due = nowMs >= run.retryAtMs;
      const msg = `${run.message} (attempt ${run.attempts}; retrying ${due ? 'now' : `in ${Math.ceil((run.retryAtMs - nowMs) / 1000)}s`})`;
      const prevReady = findCondition(status?.conditions, 'Ready');
      const announced = prevReady?.reason === run.reason && status?.message?.includes(`(attempt ${run.attempts};`);
      const plan = finish(status, generation, 'Evaluating', msg, {
        ready: { status: 'False', reason: run.reason, message: msg },
        now,
        events: announced ? [] : [{ type: 'Warning', reason: 'EvaluationRetrying', note: msg }],
        submit: due,
      });
      // The message counts down; rewrite it only when the attempt changes, not on every look.
      if (announced && plan.patch) plan.patch = undefined;
      if (!due) plan.requeueAfterMs = run.retryAtMs - nowMs;
      return plan;
    }
  }
}

function finish(
  status: ModelVersionStatus | undefined,
  generation: number,
  phase: ModelVersionPhase,
  message: string,
  o: {
    ready: Pick<Condition, 'status' | 'reason' | 'message'>;
    now: Date;
    events: PlannedEvent[];
    submit: boolean;
  },
): ModelVersionPlan {
  const conditions = setCondition(
    status?.conditions,
    { type: 'Ready', ...o.ready, observedGeneration: generation },
    o.now,
  );
  const unchanged =
    status?.phase === phase &&
    status.message === message &&
    status.observedGeneration === generation &&
    canonical(status.conditions) === canonical(conditions);
  return {
    patch: unchanged ? undefined : { observedGeneration: generation, phase, message, conditions },
    events: o.events,
    submit: o.submit,
  };
}

/** How an evaluation ended: a verdict, or a failure that no retry can fix (with a CamelCase reason). */
export type GateOutcome =
  | {
      kind: 'verdict';
      verdict: Verdict;
      examples: number;
      /** `sha256:<hex>` of the evaluation file. */
      datasetDigest: string;
      /** The baseline ModelVersion scored on the same rows. */
      baseline?: string;
      evaluatedAtMs: number;
    }
  | { kind: 'failed'; reason: string; message: string; evaluatedAtMs: number; datasetDigest?: string };

/** The final status (Passed or Failed) and its Event, from an outcome. Pure. */
export function planFinalStatus(
  status: ModelVersionStatus | undefined,
  generation: number,
  outcome: GateOutcome,
): { patch: Partial<ModelVersionStatus>; event: PlannedEvent } {
  const now = new Date(outcome.evaluatedAtMs);
  const at = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  let conditions = status?.conditions;
  if (outcome.kind === 'verdict') {
    const v = outcome.verdict;
    const gate: GateStatus = {
      evaluatedAt: at,
      datasetDigest: outcome.datasetDigest,
      examples: outcome.examples,
      metrics: v.metrics,
      checks: v.checks,
      summary: v.summary,
    };
    if (outcome.baseline) gate.baseline = { modelVersion: outcome.baseline, metrics: v.baselineMetrics ?? {} };
    conditions = setCondition(
      conditions,
      {
        type: 'Evaluated',
        status: 'True',
        reason: 'Evaluated',
        message: `Scored ${outcome.examples} examples.`,
        observedGeneration: generation,
      },
      now,
    );
    conditions = setCondition(
      conditions,
      v.passed
        ? { type: 'Ready', status: 'True', reason: 'GatePassed', message: v.summary, observedGeneration: generation }
        : { type: 'Ready', status: 'False', reason: 'GateFailed', message: v.message, observedGeneration: generation },
      now,
    );
    return {
      patch: {
        observedGeneration: generation,
        phase: v.passed ? 'Passed' : 'Failed',
        message: v.message,
        gate,
        conditions,
      },
      event: v.passed
        ? { type: 'Normal', reason: 'GatePassed', note: v.summary }
        : { type: 'Warning', reason: 'GateFailed', note: `${v.summary}. ${v.message}` },
    };
  }
  const summary = oneLine(`FAILED ${outcome.reason}: ${outcome.message}`, 120);
  const gate: GateStatus = { evaluatedAt: at, summary };
  if (outcome.datasetDigest) gate.datasetDigest = outcome.datasetDigest;
  conditions = setCondition(
    conditions,
    {
      type: 'Evaluated',
      status: 'False',
      reason: outcome.reason,
      message: outcome.message,
      observedGeneration: generation,
    },
    now,
  );
  conditions = setCondition(
    conditions,
    {
      type: 'Ready',
      status: 'False',
      reason: outcome.reason,
      message: outcome.message,
      observedGeneration: generation,
    },
    now,
  );
  return {
    patch: { observedGeneration: generation, phase: 'Failed', message: outcome.message, gate, conditions },
    event: { type: 'Warning', reason: outcome.reason, note: outcome.message },
  };
}

function oneLine(s: string, max: number): string {
  const line = s.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** JSON with sorted keys: the API server does not keep the key order we wrote. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(
          Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : x,
  );
}
