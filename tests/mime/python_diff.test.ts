/**
 * Differential test against Python's email package (python3, compat32
 * policy): for every fixture, the leaf parts in tree order, with their
 * content types and decoded payloads, must equal ours (decodeBody of each
 * leaf's byte range). Python reads files with universal newlines, so CRLF is
 * compared as LF on both sides.
 *
 * Python reads some malformed input differently from Dovecot, whose rules
 * we follow; those fixtures are listed with the reason.
 */
import assert from "node:assert/strict";
import { decodeBody, type MimePart, parseMessage } from "../../src/mime/mod.ts";
import { requirePeer } from "../peers.ts";
import { loadFixtures } from "./helpers.ts";

const pythonPeer = requirePeer("python3", "python3");

const KNOWN_DIFFERENCES: Record<string, string> = {
  // Without a close delimiter Python drops the last part's final line end; Dovecot keeps it.
  "08-missing-final-boundary.eml": "missing close delimiter",
  // Python needs the whole boundary line to match (plus white space); Dovecot only the prefix.
  "30-garbage-after-boundary.eml": "prefix-matched boundary lines",
  "70-dash-lines.eml": "prefix-matched boundary lines",
  // Python ends a header at a line without colon; Dovecot only at the empty line.
  "45-no-colon-line.eml": "header ends at a non-field line in Python",
  // Past Dovecot's nesting limit of 100 we keep the rest as one opaque part; Python has no limit.
  "38-deep-nesting.eml": "nesting limit",
  "39-deep-rfc822.eml": "nesting limit",
  // Python does not parse an encapsulated message that is base64-encoded; Dovecot does.
  "55-rfc822-base64.eml": "encoded message/rfc822",
  // Python treats a multipart without boundary as one text part, Dovecot as an empty multipart.
  "17-multipart-no-boundary.eml": "multipart without boundary",
  "18-multipart-no-parts.eml": "multipart without boundary lines",
  // Python matches a nested reuse of the same boundary to the outer part; Dovecot to the inner.
  "12-same-boundary-nested.eml": "same boundary nested",
  // Python sees "--e" right after "--e" as part content; Dovecot as an empty part.
  "21-empty-parts.eml": "boundary line as the first line of a part",
  // Python keeps the comment in the type ("text/plain (comment)") and ignores the encoding.
  "33-cte-comment.eml": "comments in Content-Type and Content-Transfer-Encoding",
  // Python keeps the folding inside a quoted boundary; we unfold (RFC 5322 2.2.3), as Dovecot.
  "37-folded-content-type.eml": "folded boundary parameter",
  // Boundaries are cut at 80 characters (Dovecot), so the close delimiter reads as a separator.
  "43-long-boundary.eml": "boundary longer than 80",
  // Python ends the header at "Subject :" (space before the colon, obs-syntax RFC 5322 4.5).
  "57-header-oddities.eml": "space before the colon",
  // Repeated Content-Transfer-Encoding and a one-character base64 body.
  "60-repeated-fields.eml": "broken base64",
  // Python decodes an RFC 2231 boundary; Dovecot ignores it.
  "64-rfc2231-boundary.eml": "RFC 2231 boundary",
  // Python takes a lone CR as a line end; Dovecot (and we) only LF, so all is header.
  "61-cr-only.eml": "CR-only line ends",
  // Python keeps the type token "text" without subtype as text/plain; we keep "text/".
  "27-type-without-subtype.eml": "type without subtype",
};

const SCRIPT = `
import base64, email, json, sys
from email import policy
out = []
for path in sys.argv[1:]:
    with open(path, "rb") as f:
        msg = email.message_from_binary_file(f, policy=policy.compat32)
    leaves = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        if payload is None:
            payload = b""
        payload = payload.replace(b"\\r\\n", b"\\n")
        leaves.append([part.get_content_type(), base64.b64encode(payload).decode()])
    out.append(leaves)
print(json.dumps(out))
`;

function ourLeaves(bytes: Uint8Array, part: MimePart, out: [string, string][] = []) {
  if (part.kind === "multipart") part.children.forEach((c) => ourLeaves(bytes, c, out));
  else if (part.message) ourLeaves(bytes, part.message, out);
  else {
    const type = `${part.contentType.type}/${part.contentType.subtype}`;
    const payload = String.fromCharCode(...decodeBody(bytes, part)).replaceAll("\r\n", "\n");
    out.push([type, btoa(payload)]);
  }
  return out;
}

Deno.test({
  name: "leaf parts and decoded payloads equal Python's email package on the fixtures",
  ...pythonPeer,
  fn: async () => {
    const fixtures = loadFixtures();
    const dir = new URL("./fixtures/", import.meta.url).pathname;
    const result = await new Deno.Command("python3", {
      args: ["-c", SCRIPT, ...fixtures.map((f) => dir + f.name)],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(result.success, new TextDecoder().decode(result.stderr));
    const python: [string, string][][] = JSON.parse(new TextDecoder().decode(result.stdout));
    const differing: string[] = [];
    const details: string[] = [];
    fixtures.forEach(({ name, bytes }, i) => {
      const ours = ourLeaves(bytes, parseMessage(bytes));
      if (JSON.stringify(ours) !== JSON.stringify(python[i])) {
        differing.push(name);
        details.push(
          `${name}\n python: ${JSON.stringify(python[i])}\n ours:   ${JSON.stringify(ours)}`,
        );
      }
    });
    const unexpected = differing.filter((n) => !(n in KNOWN_DIFFERENCES));
    assert.deepEqual(unexpected, [], details.join("\n"));
    const stale = Object.keys(KNOWN_DIFFERENCES).filter((n) => !differing.includes(n));
    assert.deepEqual(stale, [], "listed differences that no longer differ");
  },
});
