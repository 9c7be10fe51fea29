/**
 * MIME parsing for the mailstore and IMAP: structure and byte ranges of a
 * stored message, ENVELOPE, BODYSTRUCTURE, sections, decoders. Pure
 * functions over the message bytes (CRLF or LF); the tree is plain data
 * (JSON-serialisable) so the store can cache it.
 *
 * Malformed input is read as Dovecot 2.3 reads it (checked by
 * tests/mime/dovecot_diff.test.ts), so IMAP clients see what Dovecot shows:
 * - no Content-Type: text/plain (RFC 2045 5.2), message/rfc822 inside
 *   multipart/digest (RFC 2046 5.1.5); the first Content-Type counts;
 * - unusable Content-Type: text/plain (RFC 2045 5.2; Dovecot sends "" "");
 * - multipart without boundary, or with no boundary line: no parts
 *   (BODYSTRUCTURE shows one empty text/plain part); an empty boundary is
 *   used, an RFC 2231 encoded one is not; boundaries are cut at 80 bytes;
 * - boundary lines match by prefix, longest open boundary wins; a missing
 *   close delimiter ends the part at an outer boundary or the end of data;
 * - a header ends only at an empty line, a boundary line, or the end of
 *   data; lines without a colon stay in it;
 * - 8-bit and NUL bytes are kept (header strings are binary strings);
 *   sections sent to IMAP get CRLF and NUL as 0x80;
 * - past 100 nested levels or 10,000 parts the rest is one opaque leaf
 *   (BODYSTRUCTURE: application/octet-stream), never an exception.
 */
export { type HeaderField, headerValue, headerValues } from "./header.ts";
export { DEFAULT_LIMITS, type MimePart, type ParseLimits, parseMessage } from "./parse.ts";
export {
  type Disposition,
  type MediaType,
  type MimeParam,
  paramValue,
  parseDisposition,
  parseMediaType,
} from "./params.ts";
export { type ImapAddress, parseAddressList } from "./address.ts";
export { type Envelope, envelope, formatEnvelope } from "./envelope.ts";
export {
  type BodyStructure,
  bodyStructure,
  type BodyStructureOptions,
  formatBodyStructure,
  type MultipartStructure,
  type SinglePartStructure,
} from "./body_structure.ts";
export {
  type ByteRange,
  fetchSection,
  headerFields,
  parseSection,
  partAt,
  resolveSection,
  sectionRange,
  type SectionSpec,
  toCrlf,
} from "./section.ts";
export {
  bodyText,
  decodeBase64,
  decodeBody,
  decodeEncodedWords,
  decodeQuotedPrintable,
} from "./decode.ts";
export { imapNString, imapString } from "./imap_string.ts";
export { binaryToBytes, binaryToUtf8, bytesToBinary } from "./binary.ts";
