import { BadRequestError } from '../errors';

const MAX_ID_LENGTH = 128;
// Ids are generated UUIDs or batch_init's decimal numbers; anything else is refused up front.
const ID_PATTERN = /^[A-Za-z0-9_-]+$/;
const INTEGER_PATTERN = /^\d+$/;

/** The raw path parameter, or a 400 naming it when it is absent. */
function raw(params: Readonly<Record<string, string | undefined>> | undefined, name: string): string {
  const value = params?.[name];
  if (value === undefined || value === '') throw new BadRequestError(`${name} is missing`);
  return value;
}

/**
 * batch_init beyond this many rows is refused: it must finish within a function's 28 s, every
 * shard's part prepared before any commits. A million orders, the heaviest rows, leave a margin
 * even on a slow machine (docs/performance.md, "batch_init's bound").
 */
export const MAX_BATCH_INIT = 1_000_000;

/** An id: 1 to 128 characters of letters, digits, '-' and '_'. */
export function idParam(params: Readonly<Record<string, string | undefined>> | undefined, name: string): string {
  const value = raw(params, name);
  if (value.length > MAX_ID_LENGTH) throw new BadRequestError(`${name} is longer than ${MAX_ID_LENGTH} characters`);
  if (!ID_PATTERN.test(value)) throw new BadRequestError(`${name} may hold only letters, digits, '-' and '_'`);
  return value;
}

/**
 * A whole number from `min` to 2^53-1, written in plain decimal digits (no sign, exponent or
 * fraction), so that every accepted value is exact in JavaScript and in PostgreSQL's bigint.
 */
export function intParam(
  params: Readonly<Record<string, string | undefined>> | undefined,
  name: string,
  { min = 0, max = Number.MAX_SAFE_INTEGER }: { min?: number; max?: number } = {},
): number {
  const value = raw(params, name);
  if (!INTEGER_PATTERN.test(value)) {
    throw new BadRequestError(value.startsWith('-') ? `${name} must not be negative` : `${name} must be a whole number`);
  }
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number > max) throw new BadRequestError(`${name} must be at most ${max}`);
  if (number < min) throw new BadRequestError(min === 1 ? `${name} must be positive` : `${name} must be at least ${min}`);
  return number;
}
