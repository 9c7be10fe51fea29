/**
 * IMAP FETCH BODY[section] (RFC 3501 6.4.5): which bytes a section spec
 * names. Part numbers walk the tree as Dovecot's imap-msgpart does: a
 * message/rfc822 part is entered before its sub-part numbers apply, and a
 * non-multipart entity only has part 1 (its own body). HEADER, TEXT and
 * HEADER.FIELDS of a part number apply to the encapsulated message of a
 * message/rfc822 part; MIME is the part's own header.
 */
import { binaryToBytes, bytesToBinary, CR, LF } from "./binary.ts";
import type { MimePart } from "./parse.ts";

export type SectionText = "" | "HEADER" | "HEADER.FIELDS" | "HEADER.FIELDS.NOT" | "TEXT" | "MIME";

export interface SectionSpec {
  path: number[];
  text: SectionText;
  /** HEADER.FIELDS(.NOT): the field names. */
  fields: string[];
}

export interface SectionOptions {
  /** Enter message/global parts as message/rfc822 (must match the BODYSTRUCTURE option). */
  globalAsMessage?: boolean;
}

const SPEC =
  /^((?:[1-9][0-9]{0,8})(?:\.[1-9][0-9]{0,8})*)?(?:(^|\.)(HEADER\.FIELDS\.NOT|HEADER\.FIELDS|HEADER|TEXT|MIME))?(?:[ ]+\(([^()]*)\))?$/i;

/** Parses "1.2.HEADER.FIELDS (From To)"; undefined when it is not RFC 3501 section syntax. */
export function parseSection(spec: string): SectionSpec | undefined {
  const m = SPEC.exec(spec);
  if (!m) return undefined;
  const path = m[1] ? m[1].split(".").map(Number) : [];
  const text = (m[3] ?? "").toUpperCase() as SectionText;
  const hasList = m[4] !== undefined;
  if (hasList !== text.startsWith("HEADER.FIELDS")) return undefined;
  if (text === "MIME" && path.length === 0) return undefined;
  const fields = hasList
    ? m[4].trim().split(/[ ]+/).filter((f) => f !== "").map((f) => f.replace(/^"(.*)"$/, "$1"))
    : [];
  if (hasList && fields.length === 0) return undefined;
  return { path, text, fields };
}

export interface ByteRange {
  start: number;
  end: number;
}

function isMessage(part: MimePart, options: SectionOptions): boolean {
  return part.kind === "message" && part.message !== undefined &&
    (part.contentType.subtype === "rfc822" || options.globalAsMessage === true);
}

/**
 * The part a path of part numbers names, or undefined when there is none.
 * As Dovecot walks it: the first number selects in the message (a
 * non-multipart message has only part 1, itself); a further number selects
 * among a multipart's children, or inside a message/rfc822 part's
 * encapsulated message the same way; a non-multipart part inside a
 * multipart also answers to one ".1" (itself).
 */
export function partAt(
  root: MimePart,
  path: number[],
  options: SectionOptions = {},
): MimePart | undefined {
  let part = root;
  let selfTaken = false; // the current part was reached through a ".1" to itself
  for (let i = 0; i < path.length; i++) {
    const n = path[i];
    let within: MimePart | undefined;
    if (i === 0) within = root;
    else if (part.kind === "multipart") within = part;
    else if (isMessage(part, options)) within = part.message!;
    if (within?.kind === "multipart") {
      const child = within.children[n - 1];
      if (!child) return undefined;
      [part, selfTaken] = [child, false];
    } else if (n !== 1) {
      return undefined;
    } else if (within) {
      [part, selfTaken] = [within, true];
    } else if (!selfTaken) {
      selfTaken = true;
    } else {
      return undefined;
    }
  }
  return part;
}

export interface ResolvedSection {
  /** The part the path named (the root for a path-less spec). */
  part: MimePart;
  /** The entity whose header HEADER/HEADER.FIELDS/TEXT refer to. */
  entity: MimePart;
  /** Raw bytes of the section (for HEADER.FIELDS: the whole header they are taken from). */
  range: ByteRange;
  spec: SectionSpec;
}

/** Resolves a parsed spec; undefined when the message has no such section (IMAP then sends ""). */
export function resolveSection(
  root: MimePart,
  spec: SectionSpec,
  options: SectionOptions = {},
): ResolvedSection | undefined {
  const part = partAt(root, spec.path, options);
  if (!part) return undefined;
  const top = spec.path.length === 0;
  let entity = part;
  if (!top && spec.text !== "" && spec.text !== "MIME") {
    if (!isMessage(part, options)) return undefined;
    entity = part.message!;
  }
  let range: ByteRange;
  switch (spec.text) {
    case "":
      range = top ? { start: root.headerStart, end: root.bodyEnd } : body(part);
      break;
    case "MIME":
      range = { start: part.headerStart, end: part.headerEnd };
      break;
    case "TEXT":
      range = body(entity);
      break;
    default:
      range = { start: entity.headerStart, end: entity.headerEnd };
  }
  return { part, entity, range, spec };
}

function body(part: MimePart): ByteRange {
  return { start: part.bodyStart, end: part.bodyEnd };
}

/** Raw byte range of a section spec string such as "1.2.MIME", "TEXT" or "2". */
export function sectionRange(
  root: MimePart,
  spec: string,
  options: SectionOptions = {},
): ByteRange | undefined {
  const parsed = parseSection(spec);
  return parsed && resolveSection(root, parsed, options)?.range;
}

/**
 * HEADER.FIELDS / HEADER.FIELDS.NOT of an entity (RFC 3501 6.4.5): the
 * selected fields as they are, in message order, then the empty line, all
 * with CRLF line ends as IMAP sends them.
 */
export function headerFields(
  bytes: Uint8Array,
  entity: MimePart,
  names: string[],
  not: boolean,
): Uint8Array {
  const wanted = new Set(names.map((n) => n.toLowerCase()));
  let out = "";
  for (const f of entity.fields) {
    // A line without a colon matches no name, so only .NOT returns it (as Dovecot does).
    const match = f.hasColon && wanted.has(f.name.toLowerCase());
    if (match === not) continue;
    out += bytesToBinary(bytes, f.start, f.end);
    if (!out.endsWith("\n")) out += "\r\n";
  }
  // Dovecot ends HEADER.FIELDS with the empty line always, .NOT only when the header has one.
  return toImap(binaryToBytes(!not || entity.headerComplete ? out + "\r\n" : out));
}

/**
 * The bytes IMAP sends for a section spec (CRLF line ends, NUL as 0x80), or
 * undefined when there is no such section (IMAP then sends "").
 */
export function fetchSection(
  bytes: Uint8Array,
  root: MimePart,
  spec: string,
  options: SectionOptions = {},
): Uint8Array | undefined {
  const parsed = parseSection(spec);
  const resolved = parsed && resolveSection(root, parsed, options);
  if (!resolved) return undefined;
  if (parsed.text === "HEADER.FIELDS" || parsed.text === "HEADER.FIELDS.NOT") {
    return headerFields(bytes, resolved.entity, parsed.fields, parsed.text.endsWith(".NOT"));
  }
  return toImap(bytes.subarray(resolved.range.start, resolved.range.end));
}

/** CRLF line ends, and NUL (not allowed in IMAP text) as 0x80, as Dovecot sends it. */
function toImap(bytes: Uint8Array): Uint8Array {
  const out = toCrlf(bytes);
  if (out.indexOf(0) < 0) return out;
  const copy = out === bytes ? out.slice() : out;
  for (let i = copy.indexOf(0); i >= 0; i = copy.indexOf(0, i + 1)) copy[i] = 0x80;
  return copy;
}

/** Every bare LF as CRLF (IMAP requires CRLF; Maildir files may use LF). */
export function toCrlf(bytes: Uint8Array): Uint8Array {
  let bare = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === LF && (i === 0 || bytes[i - 1] !== CR)) bare++;
  }
  if (bare === 0) return bytes;
  const out = new Uint8Array(bytes.length + bare);
  let o = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === LF && (i === 0 || bytes[i - 1] !== CR)) out[o++] = CR;
    out[o++] = bytes[i];
  }
  return out;
}
