/**
 * MIME structure of a stored message (RFC 2045, RFC 2046) as byte ranges into
 * the original bytes, so IMAP can serve BODY[section] and partial fetches
 * without copying. Boundary handling follows RFC 2046 5.1.1 as Dovecot's
 * message-parser applies it:
 * - a boundary line is "--" + boundary at a line start; only the prefix must
 *   match (transport padding or anything else may follow), and when several
 *   open boundaries match, the longest wins, the innermost on a tie;
 * - the line end before a boundary line belongs to the boundary, except on
 *   the first line of a body, preamble or epilogue;
 * - preamble and epilogue are not parts; a missing close delimiter ends the
 *   multipart at the enclosing boundary or at the end of the data;
 * - a boundary line ends the header of a part that has no empty line (the
 *   line end before it then counts in the parent's body, not the header);
 * - nesting deeper than maxDepth, or more than maxParts parts, leaves the
 *   rest as opaque leaves (overflow), never a deep recursion.
 * Never throws: any byte sequence gives a tree of ordered in-range offsets.
 */
import { CR, LF } from "./binary.ts";
import { type HeaderField, headerValue, scanHeader } from "./header.ts";
import { buildLineIndex, firstLfAtOrAfter, type LineIndex, rangeCounts } from "./line_index.ts";
import {
  type Disposition,
  type MediaType,
  parseDisposition,
  parseMediaType,
  readToken,
  skipCfws,
} from "./params.ts";

export interface MimePart {
  /** Header bytes: [headerStart, headerEnd), the empty line included when present. */
  headerStart: number;
  headerEnd: number;
  /** Body bytes: [bodyStart, bodyEnd). bodyStart === headerEnd. */
  bodyStart: number;
  bodyEnd: number;
  /** The header ended with an empty line (false: at a boundary or the end of data). */
  headerComplete: boolean;
  fields: HeaderField[];
  /** The header held more fields than maxHeaderFields; the rest are not in `fields`. */
  fieldsTruncated?: boolean;
  /** Effective media type: the RFC 2045 5.2 default when the field is missing or unusable. */
  contentType: MediaType;
  /** A usable Content-Type field was present. */
  explicitType: boolean;
  /** How the body was parsed. */
  kind: "multipart" | "message" | "leaf";
  /** multipart: its boundary (binary string, as matched). */
  boundary?: string;
  /** Content-Transfer-Encoding, lower-cased token; "7bit" when absent (RFC 2045 6.1). */
  encoding: string;
  /** The Content-Transfer-Encoding token as written, when present. */
  encodingWire?: string;
  disposition?: Disposition;
  /**
   * Content-ID, Content-Description, Content-MD5, Content-Location: unfolded
   * values as written (binary strings; a value starting on a continuation
   * line keeps its leading space, as Dovecot sends it).
   */
  id?: string;
  description?: string;
  md5?: string;
  location?: string;
  /** Content-Language tags (RFC 3282). */
  language?: string[];
  /** Body size in stored octets (bodyEnd - bodyStart). */
  size: number;
  /** Body size with every bare LF counted as CRLF (what IMAP reports). */
  crlfSize: number;
  /** Header size with every bare LF counted as CRLF. */
  headerCrlfSize: number;
  /** Number of LFs in the body (RFC 3501 7.4.2 size in text lines). */
  lines: number;
  /** multipart: the body parts, in order. */
  children: MimePart[];
  /** message/rfc822 (and message/global): the encapsulated message. */
  message?: MimePart;
  /** A nesting or part-count limit stopped the parsing of this part's body. */
  overflow?: boolean;
}

export interface ParseLimits {
  /** Multipart and message/rfc822 levels (Dovecot max_nested_mime_parts = 100; at most 1000). */
  maxDepth: number;
  /** Parts in the whole message (Dovecot max_total_mime_parts = 10000). */
  maxParts: number;
  /** Header fields kept per part. */
  maxHeaderFields: number;
}

export const DEFAULT_LIMITS: ParseLimits = {
  maxDepth: 100,
  maxParts: 10000,
  maxHeaderFields: 10000,
};

/** RFC 2046 5.1.1 allows 70 characters; longer boundaries are cut as Dovecot does (70 + 10). */
const BOUNDARY_MAX = 80;

interface Boundary {
  bytes: Uint8Array;
}

interface Hit {
  /** Index of the matched boundary in the open-boundary stack. */
  index: number;
  close: boolean;
  lineStart: number;
  /** Start of the line after the boundary line. */
  next: number;
}

interface Context {
  bytes: Uint8Array;
  lines: LineIndex;
  stack: Boundary[];
  parts: number;
  limits: ParseLimits;
}

/** Nesting is parsed by recursion, one call level per MIME level: keep it far from the stack size. */
const MAX_DEPTH_CAP = 1000;

export function parseMessage(bytes: Uint8Array, limits: Partial<ParseLimits> = {}): MimePart {
  const merged = { ...DEFAULT_LIMITS, ...limits };
  merged.maxDepth = Math.max(1, Math.min(merged.maxDepth, MAX_DEPTH_CAP));
  const ctx: Context = { bytes, lines: buildLineIndex(bytes), stack: [], parts: 1, limits: merged };
  return parseEntity(ctx, 0, 0, false).part;
}

/** The boundary line starting at `pos`, if it is one of an open multipart. */
function boundaryAt(ctx: Context, pos: number): Hit | undefined {
  const { bytes, stack } = ctx;
  if (stack.length === 0 || bytes[pos] !== 0x2d || bytes[pos + 1] !== 0x2d) return undefined;
  if (ctx.parts >= ctx.limits.maxParts) return undefined;
  const from = pos + 2;
  const lf = bytes.indexOf(LF, from);
  const lineEnd = lf < 0 ? bytes.length : lf;
  let size = lineEnd - from;
  if (lf >= 0 && size > 0 && bytes[lineEnd - 1] === CR) size--;
  if (lf < 0) size = Math.min(size, BOUNDARY_MAX + 4);
  else if (size > 2 && bytes[from + size - 1] === 0x2d && bytes[from + size - 2] === 0x2d) {
    size -= 2;
  }
  let best = -1;
  for (let i = stack.length - 1; i >= 0; i--) {
    const b = stack[i].bytes;
    if (b.length > size || (best >= 0 && stack[best].bytes.length >= b.length)) continue;
    if (!startsWith(bytes, from, b)) continue;
    best = i;
    if (b.length === size) break;
  }
  if (best < 0) return undefined;
  const after = from + stack[best].bytes.length;
  const close = after + 1 < bytes.length && bytes[after] === 0x2d && bytes[after + 1] === 0x2d;
  return { index: best, close, lineStart: pos, next: lf < 0 ? bytes.length : lf + 1 };
}

function startsWith(bytes: Uint8Array, at: number, prefix: Uint8Array): boolean {
  for (let i = 0; i < prefix.length; i++) if (bytes[at + i] !== prefix[i]) return false;
  return true;
}

/** The first boundary line at or after line start `from`. */
function nextBoundary(ctx: Context, from: number): Hit | undefined {
  if (ctx.stack.length === 0) return undefined;
  const first = boundaryAt(ctx, from);
  if (first) return first;
  const { lf, count } = ctx.lines;
  for (let i = firstLfAtOrAfter(ctx.lines, from); i < count; i++) {
    const pos = lf[i] + 1;
    if (ctx.bytes[pos] !== 0x2d) continue;
    const hit = boundaryAt(ctx, pos);
    if (hit) return hit;
  }
  return undefined;
}

/** Where content scanned from `floor` ends: before the boundary's line end, or at the end of data. */
function endBefore(ctx: Context, hit: Hit | undefined, floor: number): number {
  if (!hit) return ctx.bytes.length;
  const pos = hit.lineStart;
  const { bytes } = ctx;
  if (pos <= floor || bytes[pos - 1] !== LF) return pos;
  return pos - 2 >= floor && bytes[pos - 2] === CR ? pos - 2 : pos - 1;
}

interface Parsed {
  part: MimePart;
  /** The boundary line that ended this part (undefined: end of data). */
  hit?: Hit;
  /**
   * When a boundary line ended the header, the length of the line end before
   * it: not in this part's header, but counted in the parent's body (as Dovecot does).
   */
  carried: number;
}

/**
 * One entity (header + body) from `start`. Recursion is bounded by maxDepth,
 * since every level of call is one level of MIME nesting.
 */
function parseEntity(ctx: Context, start: number, depth: number, inDigest: boolean): Parsed {
  const { bytes } = ctx;
  let stopHit: Hit | undefined;
  const header = scanHeader(bytes, start, bytes.length, (pos) => {
    stopHit = boundaryAt(ctx, pos);
    return stopHit !== undefined;
  }, { maxFields: ctx.limits.maxHeaderFields });
  const part = describe(header.fields, inDigest);
  part.headerStart = start;
  part.headerEnd = part.bodyStart = header.end;
  part.headerComplete = header.blankLine;
  if (header.truncated) part.fieldsTruncated = true;

  let hit: Hit | undefined;
  let carried = 0;
  if (stopHit) {
    hit = stopHit;
    carried = stopHit.lineStart - header.end;
    part.kind = "leaf";
    part.bodyEnd = header.end;
  } else {
    hit = parseBody(ctx, part, depth);
  }
  finishCounts(ctx, part);
  return { part, hit, carried };
}

function parseBody(ctx: Context, part: MimePart, depth: number): Hit | undefined {
  const { type, subtype } = part.contentType;
  const nests = type === "multipart" || part.kind === "message";
  if (nests && depth + 1 >= ctx.limits.maxDepth) {
    part.kind = "leaf";
    part.overflow = true;
  } else if (part.kind === "message") {
    ctx.parts++;
    const inner = parseEntity(ctx, part.bodyStart, depth + 1, false);
    part.message = inner.part;
    part.bodyEnd = inner.part.bodyEnd + inner.carried;
    return inner.hit;
  } else if (type === "multipart") {
    part.kind = "multipart";
    const boundary = multipartBoundary(part);
    if (boundary !== undefined) {
      part.boundary = boundary;
      return parseMultipart(ctx, part, boundary, depth, subtype === "digest");
    }
    // No boundary: a multipart without parts (Dovecot shows one empty text/plain part).
  }
  const hit = nextBoundary(ctx, part.bodyStart);
  if (hit && hit.lineStart === part.bodyStart && part.headerComplete) {
    // An empty body right before a boundary: the header's empty line is the
    // line end that belongs to the boundary (as Dovecot counts it).
    const eol = part.bodyStart - 2 >= part.headerStart && ctx.bytes[part.bodyStart - 2] === CR
      ? 2
      : 1;
    part.headerEnd = part.bodyStart = part.bodyEnd = part.bodyStart - eol;
    part.headerComplete = false;
    return hit;
  }
  part.bodyEnd = endBefore(ctx, hit, part.bodyStart);
  return hit;
}

/**
 * The boundary parameter, cut to BOUNDARY_MAX bytes; undefined when missing.
 * An RFC 2231 encoded one is not used, an empty one is (both as Dovecot does).
 */
function multipartBoundary(part: MimePart): string | undefined {
  const param = part.contentType.params.find((p) => p.name === "boundary");
  if (!param || param.wireName.endsWith("*")) return undefined;
  return param.wireValue.slice(0, BOUNDARY_MAX);
}

function parseMultipart(
  ctx: Context,
  part: MimePart,
  boundary: string,
  depth: number,
  digest: boolean,
): Hit | undefined {
  const own = ctx.stack.length;
  const bytes = new Uint8Array(boundary.length);
  for (let i = 0; i < boundary.length; i++) bytes[i] = boundary.charCodeAt(i) & 0xff;
  ctx.stack.push({ bytes });
  let hit = nextBoundary(ctx, part.bodyStart);
  // Parts ended by one boundary line all end at the same offset.
  let end = endBefore(ctx, hit, part.bodyStart);
  while (hit && hit.index === own && !hit.close) {
    ctx.parts++;
    const child = parseEntity(ctx, hit.next, depth + 1, digest);
    part.children.push(child.part);
    end = child.part.bodyEnd + child.carried;
    hit = child.hit;
  }
  if (hit && hit.index === own) {
    // Close delimiter: the epilogue runs to the next enclosing boundary.
    ctx.stack.length = own;
    const epilogue = hit.next;
    hit = nextBoundary(ctx, epilogue);
    end = endBefore(ctx, hit, epilogue);
  }
  ctx.stack.length = own;
  part.bodyEnd = end;
  return hit;
}

function finishCounts(ctx: Context, part: MimePart): void {
  part.bodyEnd = Math.max(part.bodyStart, part.bodyEnd);
  part.size = part.bodyEnd - part.bodyStart;
  const body = rangeCounts(ctx.lines, part.bodyStart, part.bodyEnd);
  part.lines = body.lines;
  part.crlfSize = body.crlfSize;
  part.headerCrlfSize = rangeCounts(ctx.lines, part.headerStart, part.headerEnd).crlfSize;
}

/** The MIME fields of a header; offsets are filled in by the caller. */
function describe(fields: HeaderField[], inDigest: boolean): MimePart {
  const ctValue = headerValue(fields, "content-type");
  let contentType = ctValue === undefined ? undefined : parseMediaType(ctValue);
  const explicitType = contentType !== undefined && contentType.type !== "";
  if (!explicitType) {
    // RFC 2045 5.2 default; RFC 2046 5.1.5 inside multipart/digest.
    contentType = inDigest ? defaultType("message", "rfc822") : defaultType("text", "plain");
  }
  const ct = contentType!;
  const encoding = firstToken(headerValue(fields, "content-transfer-encoding"));
  const isMessage = ct.type === "message" && (ct.subtype === "rfc822" || ct.subtype === "global");
  const part: MimePart = {
    headerStart: 0,
    headerEnd: 0,
    bodyStart: 0,
    bodyEnd: 0,
    headerComplete: false,
    fields,
    contentType: ct,
    explicitType,
    kind: isMessage ? "message" : "leaf",
    encoding: (encoding ?? "7bit").toLowerCase(),
    encodingWire: encoding,
    size: 0,
    crlfSize: 0,
    headerCrlfSize: 0,
    lines: 0,
    children: [],
  };
  const disposition = headerValue(fields, "content-disposition");
  if (disposition !== undefined) part.disposition = parseDisposition(disposition);
  const optional = [
    ["id", "content-id"],
    ["description", "content-description"],
    ["md5", "content-md5"],
    ["location", "content-location"],
  ] as const;
  for (const [key, name] of optional) {
    const value = headerValue(fields, name);
    if (value !== undefined) part[key] = value;
  }
  const language = headerValue(fields, "content-language");
  if (language !== undefined) {
    const tags = language.replace(/\([^)]*\)/g, " ").split(/[\s,]+/).filter((t) => t !== "");
    if (tags.length > 0) part.language = tags;
  }
  return part;
}

function defaultType(type: string, subtype: string): MediaType {
  return { type, subtype, params: [], wireType: type, wireSubtype: subtype };
}

/** The token of a field such as Content-Transfer-Encoding, comments skipped. */
function firstToken(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const [token] = readToken(value, skipCfws(value, 0));
  return token || undefined;
}
