import type { InferenceService } from '../../api/generated.ts';
import type { ReadyInput } from '../common/kind-controller.ts';

/**
 * The InferenceService's Ready condition. Pure. For now the operator only records that it has observed the current
 * generation; the InferenceService logic (later issues) replaces this with the real readiness.
 */
export function computeReady(_obj: InferenceService): ReadyInput {
  return { status: 'True', reason: 'Reconciled', message: 'The operator has observed the current generation.' };
}
