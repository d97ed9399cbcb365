/**
 * Runs `pass` now and then again `intervalMs` after each pass ends (never two at once). A failed
 * pass is reported and the loop goes on; `stop()` waits for the pass in flight.
 */
export function repeatEvery(intervalMs: number, pass: () => Promise<unknown>, onError?: (error: unknown) => void) {
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<unknown> | null = null;
  let stopped = false;

  function tick() {
    running = pass()
      .catch((error: unknown) => onError?.(error))
      .finally(() => {
        running = null;
        if (!stopped) timer = setTimeout(tick, intervalMs);
      });
  }

  return {
    /** True once stop() was called: long passes check it to end early. */
    get stopped() {
      return stopped;
    },
    start() {
      stopped = false;
      timer = setTimeout(tick, 0);
    },
    async stop(): Promise<void> {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
