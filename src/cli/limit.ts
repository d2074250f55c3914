/** Runs at most `n` of the given tasks at once, in the order they were handed in. */
export function createLimiter(n: number) {
  let running = 0;
  const queue: (() => void)[] = [];
  const next = () => {
    running--;
    queue.shift()?.();
  };
  return function limit<T>(task: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const start = () => {
        running++;
        task().then(resolve, reject).finally(next);
      };
      if (running < n) start();
      else queue.push(start);
    });
  };
}
