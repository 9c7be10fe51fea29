import { ConfigError } from "../errors.ts";

/** Where a table problem is: the table spec, and the file and line when there is one. */
export interface TableContext {
  spec: string;
  file?: string;
}

/**
 * A ConfigError that names the table spec, and the file:line when known:
 * "/etc/postfix/access:12: expected format: key whitespace value (table hash:/etc/postfix/access)".
 */
export function tableError(ctx: TableContext, message: string, line?: number): ConfigError {
  const where = ctx.file ? { file: ctx.file, line } : {};
  return new ConfigError(`${message} (table ${ctx.spec})`, where);
}
