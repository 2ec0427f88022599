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
