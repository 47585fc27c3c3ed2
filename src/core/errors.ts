// Typed errors that carry meaning across layers; the API maps them to HTTP status in one place.

export interface ErrorDetail {
  /** Where the problem is: a field path ("tags.region"), a CSV line ("line 12"), a header. */
  path?: string;
  message: string;
}

export class AppError extends Error {
  readonly code: string;
  readonly details: ErrorDetail[];
  constructor(code: string, message: string, details: ErrorDetail[] = []) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }
}

export class ValidationError extends AppError {
  constructor(message: string, details: ErrorDetail[] = []) {
    super('validation_failed', message, details);
  }
}

export class NotFoundError extends AppError {
  constructor(what: string, id: string) {
    super('not_found', `${what} '${id}' does not exist`);
  }
}

export class ConflictError extends AppError {
  constructor(message: string, details: ErrorDetail[] = []) {
    super('conflict', message, details);
  }
}

export class AuthError extends AppError {
  /**
   * False when the caller proved who it is but may not in yet (a Mender device waiting to be
   * accepted): not a failed authentication, so it does not count toward the rate limit.
   */
  readonly countsAsFailure: boolean;
  constructor(message = 'a valid bearer token is required (Authorization: Bearer <token>)', options: { countsAsFailure?: boolean } = {}) {
    super('unauthorized', message);
    this.countsAsFailure = options.countsAsFailure ?? true;
  }
}

export class ForbiddenError extends AppError {
  constructor(message: string) {
    super('forbidden', message);
  }
}

/** A transition the execution state machine does not allow; a programming error, not user input. */
export class IllegalTransitionError extends AppError {
  constructor(from: string, to: string) {
    super('illegal_transition', `execution cannot go from '${from}' to '${to}'`);
  }
}
