import ort from 'onnxruntime-node';

/**
 * Opens an onnxruntime-node session the way every in-thread user of it wants one: a bounded intra-op pool,
 * one inter-op thread, sequential execution, all graph optimizations, and onnxruntime's own logging down to
 * errors. Callers run it inside a worker thread: `session.run` blocks the thread that calls it.
 */
export function createSession(modelPath: string, intraOpThreads: number): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(modelPath, {
    intraOpNumThreads: intraOpThreads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
  });
}
