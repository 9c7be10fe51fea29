/**
 * IMAP BODY and BODYSTRUCTURE (RFC 3501 7.4.2) of a parsed part, first as a
 * nested structure, then in the exact syntax. Values follow what Dovecot
 * 2.3 sends, so that a client sees no difference:
 * - type, subtype, parameter names and the encoding as written in the
 *   message ("TEXT" "HTML" stays upper case, "text" stays lower case);
 * - text/* parts without a charset get ("charset" "us-ascii") (RFC 2045 5.2);
 * - sizes count bare LFs as CRLF; lines are the body's LFs;
 * - RFC 2231 parameters joined but still encoded, under "name*";
 * - a multipart with no parts (no boundary, or no boundary line) holds one
 *   empty text/plain part, since the syntax needs at least one;
 * - a multipart or message/rfc822 past the nesting limit is
 *   application/octet-stream, its parameters kept;
 * - message/global is a basic body unless `globalAsMessage` (RFC 9051
 *   media-message allows the envelope form for it; Dovecot 2.3 does not).
 */
import { type Envelope, envelope, formatEnvelope } from "./envelope.ts";
import { imapNStringNoLf, imapString } from "./imap_string.ts";
import type { MimeParam } from "./params.ts";
import type { MimePart } from "./parse.ts";

/** Parameter list as (name, value) pairs of binary strings; null for NIL. */
export type ParamList = [string, string][] | null;

export interface Extension {
  disposition: { type: string; params: ParamList } | null;
  language: string[] | null;
  location: string | null;
}

export interface SinglePartStructure {
  multipart: false;
  type: string;
  subtype: string;
  params: ParamList;
  id: string | null;
  description: string | null;
  encoding: string;
  /** Octets, bare LFs counted as CRLF. */
  size: number;
  /** text/* and message/rfc822. */
  lines?: number;
  /** message/rfc822. */
  envelope?: Envelope;
  body?: BodyStructure;
  /** BODYSTRUCTURE only. */
  md5?: string | null;
  extension?: Extension;
}

export interface MultipartStructure {
  multipart: true;
  parts: BodyStructure[];
  subtype: string;
  /** BODYSTRUCTURE only. */
  params?: ParamList;
  extension?: Extension;
}

export type BodyStructure = SinglePartStructure | MultipartStructure;

export interface BodyStructureOptions {
  globalAsMessage?: boolean;
}

const EMPTY_TEXT: SinglePartStructure = {
  multipart: false,
  type: "text",
  subtype: "plain",
  params: [["charset", "us-ascii"]],
  id: null,
  description: null,
  encoding: "7bit",
  size: 0,
  lines: 0,
};

function paramList(params: MimeParam[], defaultCharset: boolean): ParamList {
  const list: [string, string][] = params.map((p) => [p.wireName, p.wireValue]);
  if (defaultCharset && !params.some((p) => p.name === "charset" && !p.wireName.endsWith("*"))) {
    list.push(["charset", "us-ascii"]);
  }
  return list.length === 0 ? null : list;
}

function extension(part: MimePart): Extension {
  const d = part.disposition;
  return {
    disposition: d ? { type: d.wireType, params: paramList(d.params, false) } : null,
    language: part.language ?? null,
    location: part.location ?? null,
  };
}

/** BODYSTRUCTURE (extended) or BODY (not extended) of a part. */
export function bodyStructure(
  part: MimePart,
  extended: boolean,
  options: BodyStructureOptions = {},
): BodyStructure {
  if (part.kind === "multipart") {
    const parts = part.children.map((c) => bodyStructure(c, extended, options));
    const out: MultipartStructure = {
      multipart: true,
      parts: parts.length > 0 ? parts : [emptyText(extended)],
      subtype: part.contentType.wireSubtype,
    };
    if (extended) {
      out.params = paramList(part.contentType.params, false);
      out.extension = extension(part);
    }
    return out;
  }
  const ct = part.contentType;
  const text = ct.type === "text";
  // A multipart or message too deep to parse is shown as opaque data (as Dovecot does).
  const opaque = part.overflow === true;
  const out: SinglePartStructure = {
    multipart: false,
    type: opaque ? "application" : ct.wireType,
    subtype: opaque ? "octet-stream" : ct.wireSubtype,
    params: paramList(ct.params, text),
    id: part.id ?? null,
    description: part.description ?? null,
    encoding: part.encodingWire ?? "7bit",
    size: part.crlfSize,
  };
  const asMessage = part.message !== undefined &&
    (ct.subtype === "rfc822" || options.globalAsMessage === true);
  if (text) {
    out.lines = part.lines;
  } else if (asMessage) {
    out.envelope = envelope(part.message!);
    // Dovecot sends the encapsulated body in the same form (extended or not) as the part.
    out.body = bodyStructure(part.message!, extended, options);
    out.lines = part.lines;
  }
  if (extended) {
    out.md5 = part.md5 ?? null;
    out.extension = extension(part);
  }
  return out;
}

function emptyText(extended: boolean): SinglePartStructure {
  return extended
    ? { ...EMPTY_TEXT, md5: null, extension: { disposition: null, language: null, location: null } }
    : { ...EMPTY_TEXT };
}

function formatParams(list: ParamList): string {
  if (list === null) return "NIL";
  return "(" + list.map(([k, v]) => `${imapString(k)} ${imapString(v)}`).join(" ") + ")";
}

function formatExtension(ext: Extension): string {
  const d = ext.disposition
    ? `(${imapString(ext.disposition.type)} ${formatParams(ext.disposition.params)})`
    : "NIL";
  const lang = ext.language ? "(" + ext.language.map(imapString).join(" ") + ")" : "NIL";
  return `${d} ${lang} ${imapNStringNoLf(ext.location)}`;
}

/** The RFC 3501 syntax, as a binary string (literals counted in bytes). */
export function formatBodyStructure(bs: BodyStructure): string {
  if (bs.multipart) {
    let out = "(" + bs.parts.map(formatBodyStructure).join("") + " " + imapString(bs.subtype);
    if (bs.extension) {
      out += ` ${formatParams(bs.params ?? null)} ${formatExtension(bs.extension)}`;
    }
    return out + ")";
  }
  let out = `(${imapString(bs.type)} ${imapString(bs.subtype)} ${formatParams(bs.params)} ` +
    `${imapNStringNoLf(bs.id)} ${imapNStringNoLf(bs.description)} ${imapString(bs.encoding)} ` +
    `${bs.size}`;
  if (bs.envelope && bs.body) {
    out += ` ${formatEnvelope(bs.envelope)} ${formatBodyStructure(bs.body)}`;
  }
  if (bs.lines !== undefined) out += ` ${bs.lines}`;
  if (bs.extension) {
    out += ` ${imapNStringNoLf(bs.md5 ?? null)} ${formatExtension(bs.extension)}`;
  }
  return out + ")";
}
