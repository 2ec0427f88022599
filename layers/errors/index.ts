/**
 * The one error hierarchy of the system. An `AppError` carries the HTTP status it maps to, a
 * stable `code` a program can act on (`insufficient_stock`, `order_paid`, `unavailable`, …) and
 * a message safe to show a client; anything else is an infrastructure fault and becomes a
 * generic 500.
 */
export interface AppErrorOptions extends ErrorOptions {
  /** What went wrong, for programs: lower-case words joined by '_', stable across releases. */
  readonly code?: string;
}

export class AppError extends Error {
  readonly code: string;

  constructor(
    message: string,
    readonly status: number,
    options?: AppErrorOptions,
    defaultCode = 'error',
  ) {
    super(message, options);
    this.name = new.target.name;
    this.code = options?.code ?? defaultCode;
  }
}

/** An `AppError` class of one status and the code its errors carry unless they name their own. */
function withStatus(status: number, defaultCode: string) {
  return class extends AppError {
    constructor(message: string, options?: AppErrorOptions) {
      super(message, status, options, defaultCode);
    }
  };
}

/** A malformed request: a path parameter that is not what the contract allows. */
export class BadRequestError extends withStatus(400, 'bad_request') {}

/** A request without the credentials its route needs (the live view's token on AWS). */
export class UnauthorizedError extends withStatus(401, 'unauthorized') {}

/** The item, user or order does not exist (`item_not_found`, `user_not_found`, `order_not_found`, …). */
export class NotFoundError extends withStatus(404, 'not_found') {}

/** Well formed, but a business rule refuses it (`insufficient_stock`, `insufficient_credit`, `order_paid`, …). */
export class ConflictError extends withStatus(409, 'conflict') {}

/** Nothing was changed and the same request may well succeed in a moment (a moving shard, a checkout not decided in time). */
export class UnavailableError extends withStatus(503, 'unavailable') {}

/**
 * A write whose outcome the shop cannot know: the connection to its database, or the instance,
 * was lost after the write was sent, so it may or may not have been applied. No promise either
 * way: retried with the same Idempotency-Key it is applied at most once; without one, read first.
 */
export class OutcomeUnknownError extends withStatus(502, 'outcome_unknown') {}

/** An Idempotency-Key sent again with a different request than the one it was first sent with (422, `idempotency_key_reused`). */
export class IdempotencyKeyReusedError extends withStatus(422, 'idempotency_key_reused') {}

/** The first request with this Idempotency-Key is still running: try again in a moment and get its reply (409, with Retry-After). */
export class IdempotencyInFlightError extends withStatus(409, 'idempotency_in_flight') {}
