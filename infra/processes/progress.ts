/** One line per step of start and stop, so a person sees where the time goes. */
export interface Progress {
  step(message: string): void;
}

export const consoleProgress: Progress = {
  step(message) {
    const elapsed = ((performance.now() - startedAt) / 1000).toFixed(1).padStart(5);
    process.stdout.write(`[${elapsed}s] ${message}\n`);
  },
};

const startedAt = performance.now();
