/**
 * A POP3 command line (terminator removed) → keyword and arguments, and the
 * argument parsers the commands share. Errors are the "-ERR" texts to send.
 */

export interface CommandLine {
  /** Upper-cased keyword (RFC 1939 3: case-insensitive). */
  verb: string;
  /** Everything after the keyword and one separating space, as sent (PASS keeps its spaces). */
  rest: string;
  /** `rest` split on blanks. */
  args: string[];
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Decodes a line; a string result is the error text. */
export function parseCommand(bytes: Uint8Array): CommandLine | string {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return "Invalid UTF-8 in command";
  }
  // RFC 1939 3: printable text; a NUL or other control has no place in a command.
  if (/[\x00-\x08\x0a-\x1f\x7f]/.test(text)) return "Invalid characters in command";
  const m = /^([^ \t]*)(?:[ \t](.*))?$/s.exec(text);
  if (!m || m[1] === "") return "Empty command";
  const rest = m[2] ?? "";
  const trimmed = rest.trim();
  return { verb: m[1].toUpperCase(), rest, args: trimmed === "" ? [] : trimmed.split(/[ \t]+/) };
}

/**
 * A decimal number argument (RFC 1939 3); the error text names `what`.
 * Larger values than `maxDigits` digits are refused, not rounded.
 */
export function parseNumber(text: string, what: string, maxDigits = 10): number | string {
  if (text.length > maxDigits || !/^[0-9]+$/.test(text)) return `Invalid ${what}: ${clip(text)}`;
  return Number(text);
}

/** An argument in an error text, shortened so a huge one is not echoed back. */
export function clip(text: string, max = 40): string {
  return text.length > max ? `${text.slice(0, max)}...` : text;
}
