/**
 * A complete command line (bytes, terminator removed) → verb and argument
 * text. Bytes are decoded only here, once the line is whole.
 */
import { MailError } from "../errors.ts";

export interface CommandLine {
  /** Upper-cased command word: "MAIL", "EHLO", ... */
  verb: string;
  /** The rest of the line after the verb and the blanks following it. */
  args: string;
  /** The command as sent (for logs). */
  text: string;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

export function decodeCommand(bytes: Uint8Array): CommandLine | MailError {
  if (bytes.includes(0)) return new MailError(500, "5.5.2", "Error: NUL character in command");
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return new MailError(500, "5.5.2", "Error: bad UTF-8 syntax");
  }
  // RFC 5321 2.3.8: CR and LF only as the CRLF pair; other controls have no place in a command.
  if (/[\x01-\x08\x0a-\x1f\x7f]/.test(text)) {
    return new MailError(500, "5.5.2", "Error: bad syntax");
  }
  const trimmed = text.replace(/^[ \t]+|[ \t]+$/g, "");
  const m = /^(\S+)[ \t]*(.*)$/s.exec(trimmed);
  if (!m) return new MailError(500, "5.5.2", "Error: bad syntax");
  return { verb: m[1].toUpperCase(), args: m[2], text: trimmed };
}

/** A line that looks like a message header ("Subject: ..."): someone talks to us as if in DATA. */
export function looksLikeHeader(text: string): boolean {
  return /^[\x21-\x39\x3b-\x7e]+:/.test(text);
}
