/**
 * The one error hierarchy of the system. An `AppError` carries the HTTP status it maps to and
 * a message safe to show a client; anything else is an infrastructure fault and becomes a
 * generic 500.
 */
export class AppError extends Error {
  constructor(
    message: string,
    readonly status: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A malformed request: a path parameter that is not what the contract allows. */
export class BadRequestError extends AppError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 400, options);
  }
}

/** A request without the credentials its route needs (the live view's token on AWS). */
export class UnauthorizedError extends AppError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 401, options);
  }
}

/** The item, user or order does not exist. */
export class NotFoundError extends AppError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 404, options);
  }
}

/** Well formed, but a business rule refuses it (not enough stock, credit, an order already paid). */
export class ConflictError extends AppError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 409, options);
  }
}
