/**
 * Content decoders for SEARCH: Content-Transfer-Encoding (RFC 2045 6.7
 * quoted-printable, 6.8 base64), RFC 2047 encoded words, and charsets via
 * TextDecoder. All tolerant: bad input decodes to something, never throws.
 */
import { decodeCharset, paramValue, utf8OrBinary } from "./params.ts";
import type { MimePart } from "./parse.ts";

const HEX: Int8Array = (() => {
  const t = new Int8Array(256).fill(-1);
  for (let i = 0; i < 10; i++) t[0x30 + i] = i;
  for (let i = 0; i < 6; i++) t[0x41 + i] = t[0x61 + i] = 10 + i;
  return t;
})();

/**
 * RFC 2045 6.7: "=XX" octets, soft line breaks ("=" at the end of a line,
 * after optional transport padding), trailing white space dropped; a "="
 * not followed by two hex digits is kept as it is.
 */
export function decodeQuotedPrintable(input: Uint8Array): Uint8Array {
  const out = new Uint8Array(input.length);
  let o = 0;
  let lineStart = 0; // in `out`, for stripping trailing white space
  for (let i = 0; i < input.length; i++) {
    const b = input[i];
    if (b === 0x3d) {
      let j = i + 1;
      while (j < input.length && (input[j] === 0x20 || input[j] === 0x09)) j++;
      if (j >= input.length || input[j] === 0x0a || (input[j] === 0x0d && input[j + 1] === 0x0a)) {
        // soft line break
        i = j >= input.length ? j : input[j] === 0x0d ? j + 1 : j;
        lineStart = o;
        continue;
      }
      const hi = HEX[input[i + 1] ?? 0];
      const lo = HEX[input[i + 2] ?? 0];
      if (i + 2 < input.length && hi >= 0 && lo >= 0) {
        out[o++] = hi * 16 + lo;
        i += 2;
        lineStart = o; // an encoded space is not padding
        continue;
      }
      out[o++] = b;
    } else if (b === 0x0a || (b === 0x0d && input[i + 1] === 0x0a)) {
      while (o > lineStart && (out[o - 1] === 0x20 || out[o - 1] === 0x09)) o--;
      if (b === 0x0d) out[o++] = input[i++];
      out[o++] = 0x0a;
      lineStart = o;
    } else {
      out[o++] = b;
    }
  }
  while (o > lineStart && (out[o - 1] === 0x20 || out[o - 1] === 0x09)) o--;
  return out.slice(0, o);
}

const B64: Int8Array = (() => {
  const t = new Int8Array(256).fill(-1);
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (let i = 0; i < 64; i++) t[alphabet.charCodeAt(i)] = i;
  return t;
})();

/** RFC 2045 6.8: characters outside the alphabet are ignored; decoding stops at "=" padding. */
export function decodeBase64(input: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(input.length * 3 / 4));
  let o = 0;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < input.length; i++) {
    const b = input[i];
    if (b === 0x3d) break;
    const v = B64[b];
    if (v < 0) continue;
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out.slice(0, o);
}

/** A part's body with its Content-Transfer-Encoding undone (7bit/8bit/binary/unknown: as is). */
export function decodeBody(bytes: Uint8Array, part: MimePart): Uint8Array {
  const body = bytes.subarray(part.bodyStart, part.bodyEnd);
  if (part.encoding === "base64") return decodeBase64(body);
  if (part.encoding === "quoted-printable") return decodeQuotedPrintable(body);
  return body;
}

/** A text part's body as a string, in its charset (us-ascii when none). */
export function bodyText(bytes: Uint8Array, part: MimePart): string {
  return decodeCharset(
    decodeBody(bytes, part),
    paramValue(part.contentType.params, "charset") ?? "",
  );
}

const ENCODED_WORD = /=\?([^?\s*]+)(?:\*[^?\s]*)?\?([BbQq])\?([^?\s]*)\?=/g;

/**
 * RFC 2047 encoded words in a header value (binary string) to text.
 * White space between adjacent encoded words is dropped (6.2); adjacent
 * words in one charset are joined before decoding so that a character split
 * across words survives; an unknown charset leaves the word as it is.
 */
export function decodeEncodedWords(text: string): string {
  let out = "";
  let last = 0;
  let pending: { charset: string; bytes: number[]; raw: string } | undefined;
  const flush = () => {
    if (!pending) return;
    const decoded = decodeCharset(Uint8Array.from(pending.bytes), pending.charset);
    out += knownCharset(pending.charset) ? decoded : pending.raw;
    pending = undefined;
  };
  for (const m of text.matchAll(ENCODED_WORD)) {
    const between = text.slice(last, m.index);
    const adjacent = pending !== undefined && /^[ \t\r\n]*$/.test(between);
    if (!adjacent) {
      flush();
      out += rawText(between);
    }
    const [raw, charset, kind, payload] = m;
    const bytes = kind === "B" || kind === "b" ? b64Bytes(payload) : qBytes(payload);
    if (pending && pending.charset.toLowerCase() === charset.toLowerCase()) {
      pending.bytes.push(...bytes);
      pending.raw += raw;
    } else {
      flush();
      pending = { charset, bytes, raw };
    }
    last = m.index + raw.length;
  }
  flush();
  return out + rawText(text.slice(last));
}

/** Unencoded header text: UTF-8 when valid (RFC 6532), else the bytes as they are. */
function rawText(text: string): string {
  return utf8OrBinary(text);
}

function knownCharset(charset: string): boolean {
  const label = charset.toLowerCase();
  if (label === "us-ascii" || label === "ascii") return true;
  try {
    new TextDecoder(label);
    return true;
  } catch {
    return false;
  }
}

function b64Bytes(payload: string): number[] {
  return [...decodeBase64(Uint8Array.from(payload, (c) => c.charCodeAt(0) & 0xff))];
}

/** RFC 2047 4.2: "_" is a space, "=XX" an octet. */
function qBytes(payload: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < payload.length; i++) {
    const c = payload.charCodeAt(i);
    if (c === 0x5f) out.push(0x20);
    else if (
      c === 0x3d && HEX[payload.charCodeAt(i + 1)] >= 0 && HEX[payload.charCodeAt(i + 2)] >= 0
    ) {
      out.push(HEX[payload.charCodeAt(i + 1)] * 16 + HEX[payload.charCodeAt(i + 2)]);
      i += 2;
    } else out.push(c & 0xff);
  }
  return out;
}
