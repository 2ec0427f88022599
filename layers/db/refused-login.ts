/** PostgreSQL's answers to a login it refuses: the password (or user) the secret gave is no longer valid. */
const AUTHENTICATION_FAILURES = new Set(['28P01', '28000']);

export const isRefusedLogin = (error: unknown): boolean => AUTHENTICATION_FAILURES.has((error as { code?: string } | null)?.code ?? '');
