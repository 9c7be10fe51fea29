/**
 * Differential test against Dovecot: every fixture is APPENDed to a private
 * Dovecot IMAP server, and its BODYSTRUCTURE, BODY, ENVELOPE and a set of
 * BODY[section] fetches must equal ours byte for byte.
 *
 * Deliberate differences:
 * - an unusable or empty Content-Type is text/plain for us (RFC 2045 5.2);
 *   Dovecot sends ("" "" NIL ...) for it;
 * - malformed and obsolete address syntax: Dovecot stops at the first
 *   error and fills in MISSING_MAILBOX / SYNTAX_ERROR ("a"."b"@x.test, an
 *   unterminated "<", "<<a@b>>"); we read each address on its own.
 */
import assert from "node:assert/strict";
import {
  bodyStructure,
  bytesToBinary,
  envelope,
  fetchSection,
  formatBodyStructure,
  formatEnvelope,
  parseMessage,
} from "../../src/mime/mod.ts";
import { requirePeer } from "../peers.ts";
import { fetchFromDovecot, fetchSections, startDovecotImap } from "./dovecot.ts";
import { loadFixtures } from "./helpers.ts";

const dovecotPeer = requirePeer("dovecot", "dovecot-imapd");

const KNOWN_DIFFERENCES = new Set([
  "25-invalid-content-type.eml bodystructure",
  "25-invalid-content-type.eml body",
  "58-empty-content-type.eml bodystructure",
  "58-empty-content-type.eml body",
  "53-address-oddities.eml envelope",
]);

const SECTIONS = [
  "",
  "HEADER",
  "TEXT",
  "1",
  "1.MIME",
  "2",
  "2.MIME",
  "1.1",
  "1.2",
  "2.1",
  "1.HEADER",
  "1.TEXT",
  "2.HEADER",
  "2.TEXT",
  "1.1.MIME",
  "1.1.1",
  "1.2.1",
  "2.1.1",
  "3",
  "HEADER.FIELDS (From Subject content-type)",
  "HEADER.FIELDS.NOT (Subject)",
  "2.HEADER.FIELDS (Subject)",
  "2.HEADER.FIELDS.NOT (From)",
];

Deno.test({
  name: "BODYSTRUCTURE, BODY, ENVELOPE and BODY[section] equal Dovecot's on every fixture",
  ...dovecotPeer,
  fn: async () => {
    // Dovecot refuses to store an empty message.
    const fixtures = loadFixtures().filter((f) => f.bytes.length > 0);
    const server = await startDovecotImap();
    try {
      const fetched = await fetchFromDovecot(server, fixtures.map((f) => f.bytes));
      const sections = await fetchSections(server, fixtures.length, SECTIONS);
      const differences: string[] = [];
      const details: string[] = [];
      fixtures.forEach(({ name, bytes }, i) => {
        const root = parseMessage(bytes);
        const ours: Record<string, string> = {
          bodystructure: formatBodyStructure(bodyStructure(root, true)),
          body: formatBodyStructure(bodyStructure(root, false)),
          envelope: formatEnvelope(envelope(root)),
        };
        for (const item of ["bodystructure", "body", "envelope"] as const) {
          if (ours[item] !== fetched[i][item]) {
            differences.push(`${name} ${item}`);
            details.push(`${name} ${item}\n dovecot: ${fetched[i][item]}\n ours:    ${ours[item]}`);
          }
        }
        SECTIONS.forEach((spec, k) => {
          const mine = fetchSection(bytes, root, spec);
          const theirs = sections[i][k] ?? "";
          const text = mine === undefined ? "" : bytesToBinary(mine);
          if (text !== theirs) {
            differences.push(`${name} BODY[${spec}]`);
            details.push(
              `${name} BODY[${spec}]\n dovecot: ${JSON.stringify(theirs)}\n ours:    ${
                JSON.stringify(text)
              }`,
            );
          }
        });
      });
      const unexpected = differences.filter((d) => !KNOWN_DIFFERENCES.has(d));
      assert.deepEqual(unexpected, [], details.join("\n"));
      assert.deepEqual(new Set(differences), KNOWN_DIFFERENCES, "known differences still differ");
      assert.ok(fixtures.length >= 45);
    } finally {
      await server.stop();
    }
  },
});
