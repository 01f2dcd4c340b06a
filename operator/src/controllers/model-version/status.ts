import type { CustomObject, ReadyInput } from '../common/kind-controller.ts';

/**
 * The ModelVersion's Ready condition. Pure. For now the operator only records that it has observed the current
 * generation; the ModelVersion logic (later issues) replaces this with the real readiness.
 */
export function computeReady(_obj: CustomObject): ReadyInput {
  return { status: 'True', reason: 'Reconciled', message: 'The operator has observed the current generation.' };
}
