/**
 * Why an evaluation cannot succeed no matter how often it is retried: a corrupt or mismatched model, an unusable
 * dataset, NaN predictions. The gate fails with `reason` (CamelCase, for conditions and Events) and the message.
 */
export class EvaluationError extends Error {
  readonly reason: EvaluationFailureReason;
  /** Which model the failure is about, when it is about one. */
  role: 'candidate' | 'baseline' | undefined;
  constructor(reason: EvaluationFailureReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EvaluationError';
    this.reason = reason;
    this.role = undefined;
  }
}

export type EvaluationFailureReason =
  | 'InvalidModel'
  | 'InputMismatch'
  | 'OutputMismatch'
  | 'MissingColumn'
  | 'InvalidData'
  | 'EmptyDataset'
  | 'InvalidPrediction'
  | 'InvalidEvaluationSpec';
