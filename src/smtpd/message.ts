/**
 * Message content after DATA and BDAT: end-of-data detection, dot-unstuffing,
 * bare newline policy and the size limit.
 *
 * Only CR LF "." CR LF ends DATA (RFC 5321 4.1.1.4, 2.3.8). "\n.\n",
 * "\r.\r", "\n.\r\n" and "\r\n.\n" are data: treating any of them as the end
 * lets a relay that reads them differently smuggle a second message (SMTP
 * smuggling, CVE-2023-51764).
 */
import type { Connection } from "../net/connection.ts";
import type { BareNewlinePolicy } from "./settings.ts";

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const CRLF = new Uint8Array([CR, LF]);
const LF_ONLY = new Uint8Array([LF]);

/** Collects content up to a size limit; past it, counts but stores nothing. */
export class ContentSink {
  #parts: Uint8Array[] = [];
  #size = 0;
  #tooBig = false;
  #store = true;

  /** @param limit bytes; 0 = no limit */
  constructor(readonly limit: number) {}

  get size(): number {
    return this.#size;
  }

  get tooBig(): boolean {
    return this.#tooBig;
  }

  /** Stop storing (the message will be refused anyway), keep reading. */
  discard(): void {
    this.#store = false;
    this.#parts = [];
  }

  add(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.#size += bytes.length;
    if (this.limit > 0 && this.#size > this.limit && !this.#tooBig) {
      this.#tooBig = true;
      this.discard();
    }
    if (this.#store) this.#parts.push(bytes);
  }

  bytes(): Uint8Array {
    return concat(this.#parts);
  }
}

export interface DataOptions {
  /** message_size_limit in bytes; 0 = no limit. */
  sizeLimit: number;
  bareNewline: BareNewlinePolicy;
  /**
   * Longer lines are read in pieces of this size and passed through whole
   * (Postfix splits them into records and joins them again on delivery).
   */
  pieceLength: number;
}

export interface DataResult {
  /** CRLF lines, dot-unstuffed; empty when refused (too big, bare LF rejected). */
  content: Uint8Array;
  tooBig: boolean;
  /** A bare LF was received. */
  bareLf: boolean;
}

/**
 * Reads DATA content through the terminating "." line. Resolves null if the
 * connection ended first.
 *
 * Bare LF (postconf(5) smtpd_forbid_bare_newline): "normalize" and "reject"
 * treat it as a line end, stored as CR LF ("reject" stores nothing and
 * reports it); "no" keeps it as data inside the line. A bare CR is always data.
 */
export async function receiveData(
  conn: Connection,
  options: DataOptions,
): Promise<DataResult | null> {
  const sink = new ContentSink(options.sizeLimit);
  const lfEndsLine = options.bareNewline !== "no";
  let bareLf = false;
  let atLineStart = true;
  let previousEndedCrlf = true; // the DATA command line ended the previous line
  for (;;) {
    const piece = await conn.readLine(options.pieceLength, "split");
    if (piece === null || (piece.ending === "none" && !piece.tooLong)) return null;
    let bytes = piece.bytes;
    if (piece.ending === "lf") {
      bareLf = true;
      if (options.bareNewline === "reject") sink.discard();
    }
    if (atLineStart && bytes[0] === DOT) {
      if (bytes.length === 1 && piece.ending === "crlf") {
        if (previousEndedCrlf) break; // CR LF . CR LF
        // "." after a bare LF: not an end of data; kept as data.
      } else if (bytes.length > 1 || !lfEndsLine) {
        bytes = bytes.subarray(1); // RFC 5321 4.5.2 transparency
      }
    }
    sink.add(bytes);
    if (piece.ending === "crlf") sink.add(CRLF);
    else if (piece.ending === "lf") sink.add(lfEndsLine ? CRLF : LF_ONLY);
    atLineStart = piece.ending === "crlf" || (piece.ending === "lf" && lfEndsLine);
    previousEndedCrlf = piece.ending === "crlf";
  }
  const refused = sink.tooBig || (bareLf && options.bareNewline === "reject");
  return { content: refused ? new Uint8Array() : sink.bytes(), tooBig: sink.tooBig, bareLf };
}

/**
 * Bare LF in BDAT content (not BINARYMIME): "normalize" turns it into CR LF,
 * "reject" reports it, "no" keeps it. A last line without a line end gets
 * CR LF, so cleanup always sees terminated lines.
 */
export function fixBdatContent(
  content: Uint8Array,
  policy: BareNewlinePolicy,
): { content: Uint8Array; bareLf: boolean } {
  let bareLf = false;
  for (let i = 0; i < content.length; i++) {
    if (content[i] === LF && (i === 0 || content[i - 1] !== CR)) {
      bareLf = true;
      break;
    }
  }
  let out = content;
  if (bareLf && policy === "normalize") {
    const parts: Uint8Array[] = [];
    let from = 0;
    for (let i = 0; i < content.length; i++) {
      if (content[i] === LF && (i === 0 || content[i - 1] !== CR)) {
        parts.push(content.subarray(from, i), CRLF);
        from = i + 1;
      }
    }
    parts.push(content.subarray(from));
    out = concat(parts);
  }
  if (out.length > 0 && out[out.length - 1] !== LF) out = concat([out, CRLF]);
  return { content: out, bareLf };
}

export function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
