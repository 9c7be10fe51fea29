/**
 * Structured MIME fields: Content-Type (RFC 2045 5.1), Content-Disposition
 * (RFC 2183) and their parameters with RFC 2231 continuations and charsets.
 * Input is a binary string (one char per byte).
 */

export interface MimeParam {
  /** Lower-cased name without any RFC 2231 "*" or "*N" suffix. */
  name: string;
  /** Value with continuations joined and RFC 2231 charset decoding applied. */
  value: string;
  /** RFC 2231 charset and language, when the parameter was extended. */
  charset?: string;
  language?: string;
  /**
   * The pair as IMAP BODYSTRUCTURE sends it (as Dovecot does): continuations
   * joined, an extended value kept encoded under "name*" as
   * charset'language'%XX; binary strings.
   */
  wireName: string;
  wireValue: string;
}

export interface MediaType {
  /** Lower-cased; "" when the field was unusable. */
  type: string;
  /** Lower-cased; "" when the field had a type but no "/subtype" (kept, as Dovecot does). */
  subtype: string;
  params: MimeParam[];
  /** Type and subtype as written (IMAP BODYSTRUCTURE sends them so, as Dovecot does). */
  wireType: string;
  wireSubtype: string;
}

// RFC 2045 5.1 tspecials, plus white space and controls, end a token.
const TSPECIALS = '()<>@,;:\\"/[]?=';

function isTokenChar(c: string): boolean {
  return c > " " && c !== "\x7f" && !TSPECIALS.includes(c);
}

/** Skips white space and (nested) comments (RFC 5322 3.2.2 CFWS). */
export function skipCfws(text: string, pos: number): number {
  while (pos < text.length) {
    const c = text[pos];
    if (c === " " || c === "\t" || c === "\r" || c === "\n") pos++;
    else if (c === "(") pos = skipComment(text, pos);
    else break;
  }
  return pos;
}

function skipComment(text: string, pos: number): number {
  let depth = 0;
  for (; pos < text.length; pos++) {
    const c = text[pos];
    if (c === "\\") pos++;
    else if (c === "(") depth++;
    else if (c === ")" && --depth === 0) return pos + 1;
  }
  return text.length;
}

export function readToken(text: string, pos: number): [string, number] {
  let end = pos;
  while (end < text.length && isTokenChar(text[end])) end++;
  return [text.slice(pos, end), end];
}

/** Reads a quoted string starting at the opening quote; an unterminated one runs to the end. */
function readQuoted(text: string, pos: number): [string, number] {
  let out = "";
  for (let i = pos + 1; i < text.length; i++) {
    const c = text[i];
    if (c === '"') return [out, i + 1];
    if (c === "\\" && i + 1 < text.length) out += text[++i];
    else if (c !== "\r" && c !== "\n") out += c;
  }
  return [out, text.length];
}

/**
 * Content-Type value. An unusable value (no type token) gives type "" so
 * the caller applies the RFC 2045 5.2 default.
 */
export function parseMediaType(text: string): MediaType {
  let pos = skipCfws(text, 0);
  const [type, afterType] = readToken(text, pos);
  if (!type) return { type: "", subtype: "", params: [], wireType: "", wireSubtype: "" };
  pos = skipCfws(text, afterType);
  let subtype = "";
  if (text[pos] === "/") [subtype, pos] = readToken(text, skipCfws(text, pos + 1));
  return {
    type: type.toLowerCase(),
    subtype: subtype.toLowerCase(),
    params: parseParams(text, pos),
    wireType: type,
    wireSubtype: subtype,
  };
}

export interface Disposition {
  /** Lower-cased disposition type ("inline", "attachment", ...). */
  type: string;
  /** As written. */
  wireType: string;
  params: MimeParam[];
}

/** Content-Disposition value (RFC 2183 2); undefined when it has no type token. */
export function parseDisposition(text: string): Disposition | undefined {
  const [type, after] = readToken(text, skipCfws(text, 0));
  if (!type) return undefined;
  return { type: type.toLowerCase(), wireType: type, params: parseParams(text, after) };
}

interface RawParam {
  name: string;
  value: string;
}

/**
 * `; name=value` pairs from `pos`. An unquoted value is a token (as
 * Dovecot reads it: "a=b" gives "a"); one that starts with a tspecial is
 * taken up to ";" or white space; a broken pair is skipped up to the next ";".
 */
function parseParams(text: string, pos: number): MimeParam[] {
  const raw: RawParam[] = [];
  while (pos < text.length) {
    pos = skipCfws(text, pos);
    if (text[pos] !== ";") {
      const semi = text.indexOf(";", pos);
      if (semi < 0) break;
      pos = semi;
    }
    pos = skipCfws(text, pos + 1);
    const [name, afterName] = readToken(text, pos);
    pos = skipCfws(text, afterName);
    if (!name || text[pos] !== "=") continue;
    pos = skipCfws(text, pos + 1);
    let value: string;
    if (text[pos] === '"') {
      [value, pos] = readQuoted(text, pos);
    } else {
      // RFC 2045 token; when there is none, be lenient up to ";" or white space.
      [value, pos] = readToken(text, pos);
      if (!value) {
        let end = pos;
        while (end < text.length && !" \t\r\n;(".includes(text[end])) end++;
        [value, pos] = [text.slice(pos, end), end];
      }
    }
    raw.push({ name, value });
  }
  return joinContinuations(raw);
}

interface Segment {
  index: number;
  extended: boolean;
  value: string;
}

/** RFC 2231 3 and 4: name*0, name*1*, name* joined and decoded. */
function joinContinuations(raw: RawParam[]): MimeParam[] {
  const out: MimeParam[] = [];
  // Plain parameters first, then the joined RFC 2231 ones, as Dovecot lists them.
  const groups = new Map<string, { name: string; segments: Segment[] }>();
  for (const p of raw) {
    const m = /^(.*?)\*(?:(\d{1,4})\*?)?$/.exec(p.name);
    if (!m) {
      out.push(plainParam(p.name, p.value));
      continue;
    }
    const [, base] = m;
    const key = base.toLowerCase();
    const extended = p.name.endsWith("*");
    const index = m[2] === undefined ? 0 : Number(m[2]);
    let group = groups.get(key);
    if (!group) {
      group = { name: base, segments: [] };
      groups.set(key, group);
    }
    if (!group.segments.some((s) => s.index === index)) {
      group.segments.push({ index, extended, value: p.value });
    }
  }
  for (const group of groups.values()) out.push(extendedParam(group.name, group.segments));
  return out;
}

function plainParam(name: string, value: string): MimeParam {
  return { name: name.toLowerCase(), value: utf8OrBinary(value), wireName: name, wireValue: value };
}

function extendedParam(name: string, segments: Segment[]): MimeParam {
  segments.sort((a, b) => a.index - b.index);
  // Stop at the first missing index (RFC 2231 3: continuations are consecutive).
  const used = segments.filter((s, i) => s.index === i);
  const first = used[0] ?? segments[0];
  const anyExtended = used.some((s) => s.extended);
  if (!anyExtended) {
    const joined = used.map((s) => s.value).join("");
    return { ...plainParam(name, joined) };
  }
  let charset = "";
  let language = "";
  let wire = "";
  const bytes: number[] = [];
  used.forEach((s, i) => {
    let text = s.value;
    if (i === 0 && first.extended) {
      const m = /^([^']*)'([^']*)'(.*)$/s.exec(text);
      if (m) [, charset, language, text] = m;
    }
    if (s.extended) {
      wire += text;
      percentDecode(text, bytes);
    } else {
      wire += text.replace(/[%\x00-\x20\x7f-\xff*'()<>@,;:\\"/[\]?=]/g, (c) => pct(c));
      for (let k = 0; k < text.length; k++) bytes.push(text.charCodeAt(k) & 0xff);
    }
  });
  return {
    name: name.toLowerCase(),
    value: decodeCharset(new Uint8Array(bytes), charset),
    ...(charset ? { charset } : {}),
    ...(language ? { language } : {}),
    wireName: name + "*",
    wireValue: `${charset}'${language}'${wire}`,
  };
}

const pct = (c: string) => "%" + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0");

function percentDecode(text: string, into: number[]): void {
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "%" && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      into.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      into.push(text.charCodeAt(i) & 0xff);
    }
  }
}

/** Bytes in a named charset; an unknown charset gives the bytes as a binary string. */
export function decodeCharset(bytes: Uint8Array, charset: string): string {
  const label = charset.trim().toLowerCase() || "us-ascii";
  if (label === "us-ascii" || label === "ascii") return utf8OrBinary(binary(bytes));
  try {
    return new TextDecoder(label).decode(bytes);
  } catch {
    return binary(bytes);
  }
}

function binary(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

/** A binary string read as UTF-8 when it is valid UTF-8, else left as bytes. */
export function utf8OrBinary(text: string): string {
  if (!/[\x80-\xff]/.test(text)) return text;
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i) & 0xff;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return text;
  }
}

/** First parameter of that (lower-case) name. */
export function paramValue(params: MimeParam[], name: string): string | undefined {
  return params.find((p) => p.name === name)?.value;
}
