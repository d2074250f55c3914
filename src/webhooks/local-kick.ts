/**
 * Listeners told when this process enqueued deliveries, so a local worker starts at once
 * instead of at its next poll. Other instances find the rows by polling. The set is filled only
 * by `onLocalEnqueue` (no work at import time).
 */
const localEnqueueListeners = new Set<() => void>();

export function onLocalEnqueue(listener: () => void): () => void {
  localEnqueueListeners.add(listener);
  return () => localEnqueueListeners.delete(listener);
}

/** Called by the outbox stores after writing rows (before the commit: the worker polls again shortly after a kick). */
export function kickLocalWorkers(): void {
  for (const listener of localEnqueueListeners) listener();
}
