import type { InferenceService } from '../../api/generated.ts';
import { INFERENCE_SERVICE } from '../../api/constants.ts';
import type { Controller } from '../../runtime/controller.ts';
import type { Manager } from '../../runtime/manager.ts';
import type { ControllerDeps, KindCache } from '../common/kind-controller.ts';
import { applyObservedStatus, createKindController } from '../common/kind-controller.ts';
import { computeReady } from './status.ts';

/** The InferenceService controller: reads the cached object, computes its status, writes it when it changed. */
export function createInferenceServiceController(
  deps: ControllerDeps,
  manager: Manager,
): { controller: Controller; cache: KindCache } {
  return createKindController<InferenceService>(INFERENCE_SERVICE, deps, manager, async (obj, ctx) => {
    await applyObservedStatus(deps, INFERENCE_SERVICE, obj, computeReady(obj), ctx);
    return undefined;
  });
}
