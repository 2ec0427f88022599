/**
 * Runs a measuring command's main and exits with its code: 0 all well, 1 violations found,
 * 2 the command itself could not run (its message printed alone).
 */
export function runCommand(main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : String(error));
      process.exit(2);
    },
  );
}

/** A whole-number command-line option of at least `min`; a bad one stops the command naming it. */
export function wholeOption(values: Readonly<Record<string, unknown>>, name: string, min = 1): number {
  const value = Number(values[name]);
  if (!Number.isSafeInteger(value) || value < min)
    throw new Error(`--${name} must be a whole number of at least ${min}, not ${String(values[name])}`);
  return value;
}
