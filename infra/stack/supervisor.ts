import type { Progress } from '../processes/progress';
import type { Stack } from './stack';

const CHECK_EVERY_MS = 1_000;

/**
 * Starts again whatever of the running stack dies, checking every second, as the cloud does: a
 * function instance (Lambda replaces a crashed container), a PostgreSQL server or the Kafka broker
 * (RDS and MSK restart a failed node on its own storage). What was stopped on purpose is left
 * alone (`Stack.crashedStateful`). Returns the function that ends the supervision, once the starts
 * under way have finished, so that a stop that follows finds nothing still starting.
 */
export function supervise(stack: Stack, progress: Progress): () => Promise<void> {
  const starting = new Map<string, Promise<void>>();
  const startAgain = (name: string, what: string, start: () => Promise<void>) => {
    if (starting.has(name)) return;
    const diedAt = Date.now();
    progress.step(`${what} died; starting it again`);
    const started = start()
      .then(
        () => progress.step(`${what}: running again, ${((Date.now() - diedAt) / 1000).toFixed(1)} s after it was found dead`),
        (error: unknown) => progress.step(`${what} did not start: ${error instanceof Error ? error.message : String(error)}`),
      )
      .finally(() => starting.delete(name));
    starting.set(name, started);
  };
  const timer = setInterval(() => {
    for (const index of stack.deadInstances())
      startAgain(`offline-${index}`, `functions: instance offline-${index}`, () => stack.restartInstance(index));
    for (const name of stack.crashedStateful()) startAgain(name, name, () => stack.revive(name));
  }, CHECK_EVERY_MS);
  return async () => {
    clearInterval(timer);
    await Promise.allSettled(starting.values());
  };
}
