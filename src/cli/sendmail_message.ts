/**
 * The message sendmail(1) reads on stdin, made ready for SMTP DATA: lines end
 * in CRLF (RFC 5321 2.3.8), a lone "." ends the input unless -i, a leading
 * mbox "From " line is dropped (Postfix sendmail does), and with -t the
 * recipients come from the headers and Bcc: is removed (Postfix cleanup with
 * sendmail -t). With -F and no From:, one is added. 8-bit bytes pass as they
 * are. Pure: bytes in, bytes out.
 */
import { internalize, scanTokens, splitAddresses, type Token } from "../maps/rfc822_tokens.ts";

export interface PrepareOptions {
  dotEndsInput: boolean;
  extractRecipients: boolean;
  fullName?: string;
  /** The envelope sender (qualified), for the From: added with -F. */
  sender: string;
}

export interface PreparedMessage {
  /** The message with CRLF line ends, not yet dot-stuffed. */
  content: Uint8Array;
  /** With -t: the addresses from To/Cc/Bcc (or their Resent- forms), in order, without duplicates. */
  headerRecipients: string[];
  /** A byte above 127 is present: BODY=8BITMIME (RFC 6152). */
  eightBit: boolean;
}

const LF = 0x0a;
const CR = 0x0d;
const latin1 = new TextDecoder("latin1");
const utf8 = new TextDecoder();

/** Input lines without their LF and a CR before it; the last line may lack its LF. */
export function splitLines(input: Uint8Array): Uint8Array[] {
  const lines: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i < input.length; i++) {
    if (input[i] !== LF) continue;
    const end = i > start && input[i - 1] === CR ? i - 1 : i;
    lines.push(input.subarray(start, end));
    start = i + 1;
  }
  if (start < input.length) lines.push(input.subarray(start));
  return lines;
}

/** RFC 5322 2.2 field name: printable ASCII except ":", then ":". Returns the lower-case name. */
function fieldName(line: Uint8Array): string | undefined {
  const m = /^([!-9;-~]+):/.exec(latin1.decode(line.subarray(0, 200)));
  return m ? m[1].toLowerCase() : undefined;
}

const isContinuation = (line: Uint8Array) => line[0] === 0x20 || line[0] === 0x09;

interface Field {
  name: string;
  lines: Uint8Array[];
}

/** The header fields at the top and the index of the first body line (the blank separator included). */
function headerFields(lines: Uint8Array[]): { fields: Field[]; bodyStart: number } {
  const fields: Field[] = [];
  let i = 0;
  for (; i < lines.length; i++) {
    const line = lines[i];
    if (fields.length > 0 && isContinuation(line)) {
      fields[fields.length - 1].lines.push(line);
      continue;
    }
    const name = fieldName(line);
    if (name === undefined) break; // a blank line, or body text without a separator
    fields.push({ name, lines: [line] });
  }
  return { fields, bodyStart: i };
}

/** Addresses of an address-list header value (RFC 5322 3.4), groups included. */
export function headerAddresses(value: string): string[] {
  return splitAddresses(scanTokens(value).tokens).map((tokens: Token[]) => {
    const colon = tokens.findIndex((t) => t.kind === "op" && t.text === ":");
    const rest = (colon >= 0 ? tokens.slice(colon + 1) : tokens)
      .filter((t) => !(t.kind === "op" && t.text === ";"));
    return internalize(rest).trim();
  }).filter((address) => address !== "");
}

const RECIPIENT_FIELDS = ["to", "cc", "bcc"];

function fieldValue(field: Field): string {
  const text = field.lines.map((l) => utf8.decode(l)).join(" ");
  return text.slice(text.indexOf(":") + 1);
}

/** An RFC 5322 phrase: atoms stay as they are, anything else is quoted. */
export function displayName(name: string): string {
  if (/^"(?:[^"\\\r\n]|\\.)*"$/.test(name)) return name; // already a quoted-string (-F'"Name"')
  if (/^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~ \u0080-\u{10FFFF}]*$/u.test(name)) return name;
  return `"${name.replace(/[\\"]/g, "\\$&").replace(/[\r\n]/g, " ")}"`;
}

export function prepareMessage(input: Uint8Array, opts: PrepareOptions): PreparedMessage {
  let lines = splitLines(input);
  if (opts.dotEndsInput) {
    const dot = lines.findIndex((l) => l.length === 1 && l[0] === 0x2e);
    if (dot >= 0) lines = lines.slice(0, dot);
  }
  if (lines.length > 0 && latin1.decode(lines[0].subarray(0, 5)) === "From ") {
    lines = lines.slice(1);
  }
  const { fields, bodyStart } = headerFields(lines);
  const body = lines.slice(bodyStart);

  const headerRecipients: string[] = [];
  let kept = fields;
  if (opts.extractRecipients) {
    // Resent- headers, when present, name the recipients of this resending (RFC 5322 3.6.6).
    const resent = fields.some((f) =>
      RECIPIENT_FIELDS.includes(f.name.replace(/^resent-/, "")) &&
      f.name.startsWith("resent-")
    );
    const wanted = RECIPIENT_FIELDS.map((n) => resent ? `resent-${n}` : n);
    for (const field of fields.filter((f) => wanted.includes(f.name))) {
      for (const address of headerAddresses(fieldValue(field))) {
        if (!headerRecipients.some((r) => r.toLowerCase() === address.toLowerCase())) {
          headerRecipients.push(address);
        }
      }
    }
    kept = fields.filter((f) => f.name !== "bcc" && f.name !== "resent-bcc");
  }

  const encoder = new TextEncoder();
  const added: Uint8Array[] = [];
  if (opts.fullName !== undefined && !fields.some((f) => f.name === "from")) {
    // postconf(5) from_format = std: "Full Name <sender>".
    const name = displayName(opts.fullName.trim());
    added.push(encoder.encode(`From: ${name ? `${name} ` : ""}<${opts.sender}>`));
  }
  // A message without a blank line after its headers gets one when headers are added before body text.
  const needsSeparator = fields.length === 0 && added.length > 0 && body.length > 0 &&
    body[0].length > 0;
  const out = [
    ...kept.flatMap((f) => f.lines),
    ...added,
    ...(needsSeparator ? [new Uint8Array()] : []),
    ...body,
  ];
  const content = joinCrlf(out);
  return { content, headerRecipients, eightBit: content.some((b) => b > 0x7f) };
}

function joinCrlf(lines: Uint8Array[]): Uint8Array {
  const size = lines.reduce((n, l) => n + l.length + 2, 0);
  const out = new Uint8Array(size);
  let at = 0;
  for (const line of lines) {
    out.set(line, at);
    at += line.length;
    out[at++] = CR;
    out[at++] = LF;
  }
  return out;
}

/** RFC 5321 4.5.2 transparency: a line starting with "." gets another; then the final ".". */
export function dotStuff(content: Uint8Array): Uint8Array {
  const lines = splitLines(content);
  const stuffed = lines.map((l) => l[0] === 0x2e ? withLeadingDot(l) : l);
  return joinCrlf([...stuffed, Uint8Array.of(0x2e)]);
}

function withLeadingDot(line: Uint8Array): Uint8Array {
  const out = new Uint8Array(line.length + 1);
  out[0] = 0x2e;
  out.set(line, 1);
  return out;
}
