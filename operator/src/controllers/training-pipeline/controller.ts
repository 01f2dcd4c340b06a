import type { TrainingPipeline } from '../../api/generated.ts';
import { TRAINING_PIPELINE } from '../../api/constants.ts';
import type { Controller } from '../../runtime/controller.ts';
import type { Manager } from '../../runtime/manager.ts';
import type { ControllerDeps, KindCache } from '../common/kind-controller.ts';
import { applyObservedStatus, createKindController } from '../common/kind-controller.ts';
import { computeReady } from './status.ts';

/** The TrainingPipeline controller: reads the cached object, computes its status, writes it when it changed. */
export function createTrainingPipelineController(
  deps: ControllerDeps,
  manager: Manager,
): { controller: Controller; cache: KindCache } {
  return createKindController<TrainingPipeline>(TRAINING_PIPELINE, deps, manager, async (obj, ctx) => {
    await applyObservedStatus(deps, TRAINING_PIPELINE, obj, computeReady(obj), ctx);
    return undefined;
  });
}
