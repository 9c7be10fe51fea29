/**
 * The admin API's errors: every failure answers
 * {"error":{"code","message"}} with the status its code implies (the contract
 * in the API's OpenAPI document), whatever layer raised it.
 */

export const ERROR_STATUS = {
  bad_request: 400,
  invalid_json: 400,
  invalid_parameter: 400,
  unauthorized: 401,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  body_too_large: 413,
  unsupported_media_type: 415,
  invalid_config: 422,
  too_many_failures: 429,
  internal: 500,
  not_ready: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;
export type ErrorStatus = (typeof ERROR_STATUS)[ErrorCode];

export interface ErrorBody {
  error: { code: ErrorCode; message: string; problems?: string[] };
}

/** A failure to answer as an HTTP error; `headers` go with it (WWW-Authenticate, Retry-After, Allow). */
export class AdminError extends Error {
  readonly code: ErrorCode;
  readonly headers: Record<string, string>;
  readonly problems?: string[];

  constructor(
    code: ErrorCode,
    message: string,
    extra: { headers?: Record<string, string>; problems?: string[] } = {},
  ) {
    super(message);
    this.name = "AdminError";
    this.code = code;
    this.headers = extra.headers ?? {};
    this.problems = extra.problems;
  }

  get status(): ErrorStatus {
    return ERROR_STATUS[this.code];
  }

  get body(): ErrorBody {
    const error: ErrorBody["error"] = { code: this.code, message: this.message };
    if (this.problems) error.problems = this.problems;
    return { error };
  }
}

/** 400 invalid_parameter naming the parameter. */
export function invalidParameter(name: string, message: string): AdminError {
  return new AdminError("invalid_parameter", `${name}: ${message}`);
}

/** The JSON response for an error. */
export function errorResponse(err: AdminError): Response {
  return new Response(JSON.stringify(err.body), {
    status: err.status,
    headers: { "content-type": "application/json", ...err.headers },
  });
}
