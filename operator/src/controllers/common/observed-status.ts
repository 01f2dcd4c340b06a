import type { Condition, ConditionInput } from '../../api/conditions.ts';
import { findCondition, setCondition } from '../../api/conditions.ts';

/** The part of every kind's status that the runtime maintains. */
export interface ObservedStatus {
  observedGeneration?: number;
  conditions?: Condition[];
}

export interface ObservedStatusPlan {
  /** The merge patch for the status subresource; undefined when the status already says this. */
  patch: { status: { observedGeneration: number; conditions: Condition[] } } | undefined;
  /** The Ready condition when its status changes (or first appears): worth an Event. */
  transition: Condition | undefined;
}

/**
 * Plans the status write that records `generation` as observed and sets the Ready condition. Pure: writes
 * nothing when observedGeneration and the conditions are already as planned, so a reconcile that changes
 * nothing writes nothing.
 */
export function planObservedStatus(
  current: ObservedStatus | undefined,
  generation: number,
  ready: Omit<ConditionInput, 'type' | 'observedGeneration'>,
  now: Date,
): ObservedStatusPlan {
  const prevReady = findCondition(current?.conditions, 'Ready');
  const conditions = setCondition(
    current?.conditions,
    { type: 'Ready', ...ready, observedGeneration: generation },
    now,
  );
  const unchanged =
    current?.observedGeneration === generation && JSON.stringify(current.conditions) === JSON.stringify(conditions);
  const nextReady = findCondition(conditions, 'Ready');
  return {
    patch: unchanged ? undefined : { status: { observedGeneration: generation, conditions } },
    transition: prevReady?.status !== nextReady?.status ? nextReady : undefined,
  };
}
