/** Reads a required environment variable at the edge of a handler; fails fast naming it. */
export function requiredEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (value === undefined || value === '') throw new Error(`environment variable ${name} is not set`);
  return value;
}

/** A whole-number environment variable within [min, max], or the fallback when unset. */
export function intEnv(name: string, fallback: number, min = 1, max = 1024, env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`environment variable ${name}=${raw} is not a whole number from ${min} to ${max}`);
  }
  return value;
}
