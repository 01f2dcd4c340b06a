import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

/**
 * Lowers the CPU priority (nice) of the calling thread, best effort: on Linux, /proc/thread-self names the
 * thread's id and setpriority on a thread id renices that thread alone. Evaluation threads call it so that the
 * operator's event loop (reconciles, lease renewals) gets a CPU first when the machine is busy. Elsewhere, or
 * without /proc, nothing happens. Returns whether the priority was changed.
 */
export function lowerThreadPriority(nice = 10): boolean {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isInteger(tid) || tid <= 0) return false;
    setPriority(tid, nice);
    return true;
  } catch {
    return false;
  }
}
