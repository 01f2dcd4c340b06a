/** API group, version and the names of the three kinds. One place; the CRDs in crds/ must agree. */
export const GROUP = 'mlops.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
/** Prefix of the labels and annotations the operator reads and writes. */
export const LABEL_PREFIX = 'mlops.dev/';

export interface KindInfo {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
}

export const TRAINING_PIPELINE: KindInfo = {
  kind: 'TrainingPipeline',
  plural: 'trainingpipelines',
  singular: 'trainingpipeline',
  shortNames: ['tp'],
};
export const MODEL_VERSION: KindInfo = {
  kind: 'ModelVersion',
  plural: 'modelversions',
  singular: 'modelversion',
  shortNames: ['mv'],
};
export const INFERENCE_SERVICE: KindInfo = {
  kind: 'InferenceService',
  plural: 'inferenceservices',
  singular: 'inferenceservice',
  shortNames: ['mlisvc'],
};
export const KINDS: readonly KindInfo[] = [TRAINING_PIPELINE, MODEL_VERSION, INFERENCE_SERVICE];
