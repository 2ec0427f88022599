/**
 * The logging surface the plugin uses: the subset of Serverless v3's plugin `log` utility
 * (third constructor argument), so the same calls work with a console stand-in in tests.
 */
export interface Logger {
  error(message: string): void;
  warning(message: string): void;
  notice(message: string): void;
  info(message: string): void;
  debug(message: string): void;
}

/** A logger that writes to the console; used when Serverless provides none (older hosts). */
export const consoleLogger: Logger = {
  error: (message) => console.error(message),
  warning: (message) => console.warn(message),
  notice: (message) => console.log(message),
  info: (message) => console.log(message),
  debug: () => {},
};

/** Turns anything thrown into one line of text. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
