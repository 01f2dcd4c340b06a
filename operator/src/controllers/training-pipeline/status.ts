import type { TrainingPipeline } from '../../api/generated.ts';
import type { ReadyInput } from '../common/kind-controller.ts';

/**
 * The TrainingPipeline's Ready condition. Pure. For now the operator only records that it has observed the current
 * generation; the TrainingPipeline logic (later issues) replaces this with the real readiness.
 */
export function computeReady(_obj: TrainingPipeline): ReadyInput {
  return { status: 'True', reason: 'Reconciled', message: 'The operator has observed the current generation.' };
}
