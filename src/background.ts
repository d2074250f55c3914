/**
 * Work an app instance does besides answering requests (the webhook delivery worker, …).
 * createApp builds it idle; main.ts starts it once the server listens and stops it before the
 * database closes. Tests start it only when they need it.
 */
export interface BackgroundTask {
  start(): void;
  stop(): Promise<void>;
}

/** Starts tasks in order and stops them in reverse order, every one even when another fails. */
export function combineBackground(tasks: BackgroundTask[]): BackgroundTask {
  return {
    start() {
      for (const task of tasks) task.start();
    },
    async stop() {
      const results = await Promise.allSettled([...tasks].reverse().map((task) => task.stop()));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
      if (failed) throw failed.reason;
    },
  };
}
