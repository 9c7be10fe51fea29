/**
 * Errors that carry their protocol meaning, so every layer (smtpd reply,
 * queue status, bounce text, HTTP answer) can answer without guessing.
 */

/** A mail-level failure: SMTP reply code + RFC 3463 enhanced status code. */
export class MailError extends Error {
  /** Basic SMTP reply code, e.g. 550 or 451. RFC 5321 4.2. */
  readonly code: number;
  /** Enhanced status code, e.g. "5.1.1". RFC 3463. */
  readonly enhanced: string;

  constructor(code: number, enhanced: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "MailError";
    this.code = code;
    this.enhanced = enhanced;
  }

  /** 4xx: the sender should try again later. */
  get temporary(): boolean {
    return this.code >= 400 && this.code < 500;
  }

  /** The text of an SMTP reply line: "550 5.1.1 <x@y>: Recipient address rejected". */
  get reply(): string {
    return `${this.code} ${this.enhanced} ${this.message}`;
  }
}

/** Temporary failure (4xx); `enhanced` defaults to a generic 4.3.0. */
export function tempFail(message: string, enhanced = "4.3.0", code = 451): MailError {
  return new MailError(code, enhanced, message);
}

/** Permanent failure (5xx); `enhanced` defaults to a generic 5.3.0. */
export function permFail(message: string, enhanced = "5.3.0", code = 554): MailError {
  return new MailError(code, enhanced, message);
}

/** A configuration problem: names the file, line and parameter when known. */
export class ConfigError extends Error {
  readonly file?: string;
  readonly line?: number;
  readonly param?: string;

  constructor(message: string, where: { file?: string; line?: number; param?: string } = {}) {
    const prefix = where.file ? `${where.file}${where.line ? `:${where.line}` : ""}: ` : "";
    super(prefix + message);
    this.name = "ConfigError";
    this.file = where.file;
    this.line = where.line;
    this.param = where.param;
  }
}
