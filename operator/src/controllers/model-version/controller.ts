import { MODEL_VERSION } from '../../api/constants.ts';
import type { Controller } from '../../runtime/controller.ts';
import type { Manager } from '../../runtime/manager.ts';
import type { ControllerDeps, KindCache } from '../common/kind-controller.ts';
import { applyObservedStatus, createKindController } from '../common/kind-controller.ts';
import { computeReady } from './status.ts';

/** The ModelVersion controller: reads the cached object, computes its status, writes it when it changed. */
export function createModelVersionController(
  deps: ControllerDeps,
  manager: Manager,
): { controller: Controller; cache: KindCache } {
  return createKindController(MODEL_VERSION, deps, manager, async (obj, ctx) => {
    await applyObservedStatus(deps, MODEL_VERSION, obj, computeReady(obj), ctx);
    return undefined;
  });
}
