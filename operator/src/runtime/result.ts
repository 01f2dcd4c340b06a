/**
 * What a reconcile returns, controller-runtime's `reconcile.Result` without the deprecated `Requeue` flag.
 * `requeueAfterMs` > 0 schedules another look at the key after that delay and resets its backoff.
 */
export interface Result {
  requeueAfterMs?: number;
}

/**
 * An error that retrying cannot fix (an invalid spec, a missing permission that needs a human). The controller
 * records it and does not requeue the key; the next change of the object brings it back.
 */
export class TerminalError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TerminalError';
  }
}

export function isTerminalError(err: unknown): err is TerminalError {
  return err instanceof TerminalError;
}
