import assert from "node:assert/strict";
import {
  bodyStructure,
  envelope,
  formatBodyStructure,
  formatEnvelope,
  imapString,
  parseAddressList,
  parseMessage,
} from "../../src/mime/mod.ts";
import { crlf, fixture } from "./helpers.ts";

/** Body text of `lines` CRLF lines totalling exactly `octets` octets. */
function text(octets: number, lines: number): string {
  const per = Math.floor(octets / lines);
  let out = "";
  for (let i = 0; i < lines; i++) {
    const len = i === lines - 1 ? octets - out.length : per;
    out += "x".repeat(len - 2) + "\r\n";
  }
  return out;
}

Deno.test("RFC 3501 7.4.2 BODYSTRUCTURE example, reproduced from a message", () => {
  // The CRLF before each boundary belongs to the boundary, so each body gets one more line end.
  const message = 'MIME-Version: 1.0\r\nContent-Type: MULTIPART/MIXED; BOUNDARY="b"\r\n\r\n' +
    "--b\r\nContent-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\nContent-Transfer-Encoding: 7BIT\r\n\r\n" +
    text(1152, 23) + "\r\n" +
    "--b\r\nContent-Type: TEXT/PLAIN; CHARSET=US-ASCII; NAME=cc.diff\r\n" +
    "Content-ID: <960723163407.20117h@cac.washington.edu>\r\n" +
    "Content-Description: Compiler diff\r\nContent-Transfer-Encoding: BASE64\r\n\r\n" +
    text(4554, 73) + "\r\n--b--\r\n";
  const root = parseMessage(crlf(message));
  assert.equal(
    formatBodyStructure(bodyStructure(root, false)),
    '(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 1152 23)' +
      '("TEXT" "PLAIN" ("CHARSET" "US-ASCII" "NAME" "cc.diff") ' +
      '"<960723163407.20117h@cac.washington.edu>" "Compiler diff" "BASE64" 4554 73) "MIXED")',
  );
});

Deno.test("BODYSTRUCTURE of a forwarded message: envelope, nested body, lines, extension data", () => {
  const root = parseMessage(fixture("13-message-rfc822.eml"));
  const bs = bodyStructure(root, true);
  assert.ok(bs.multipart);
  const attached = bs.parts[1];
  assert.ok(!attached.multipart);
  assert.equal(attached.envelope?.subject, "original");
  assert.ok(attached.body?.multipart);
  assert.deepEqual(attached.extension?.disposition, { type: "inline", params: null });
  assert.equal(
    formatBodyStructure(bs),
    // Bodies ending right before a boundary have no final line end: 0 lines (as Dovecot counts).
    '(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 13 0 NIL NIL NIL NIL)' +
      '("message" "rfc822" NIL NIL NIL "7bit" 255 (NIL "original" ' +
      '(("Original Sender" NIL "orig" "example.test")) (("Original Sender" NIL "orig" "example.test")) ' +
      '(("Original Sender" NIL "orig" "example.test")) ((NIL NIL "someone" "example.test")) ' +
      "NIL NIL NIL NIL) " +
      '(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 13 0 NIL NIL NIL NIL)' +
      '("text" "html" ("charset" "us-ascii") NIL NIL "7bit" 15 0 NIL NIL NIL NIL) ' +
      '"alternative" ("boundary" "orig") NIL NIL NIL) 14 NIL ("inline" NIL) NIL NIL) ' +
      '"mixed" ("boundary" "fwd") NIL NIL NIL)',
  );
});

Deno.test("a multipart without parts shows one empty text/plain part", () => {
  const root = parseMessage(fixture("17-multipart-no-boundary.eml"));
  assert.equal(
    formatBodyStructure(bodyStructure(root, false)),
    '(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0) "mixed")',
  );
});

Deno.test("RFC 2231 parameters are sent joined but encoded, after the plain ones", () => {
  const root = parseMessage(fixture("23-rfc2231.eml"));
  const out = formatBodyStructure(bodyStructure(root, true));
  assert.ok(out.includes(`("name*" "utf-8''%E2%82%AC%20rates.txt")`), out);
  assert.ok(out.includes(`("attachment" ("size" "42" "filename*" "iso-8859-1'fr'%E9t%E9.txt"))`));
  assert.ok(out.includes(`("CHARSET" "UTF-8" "title" "a b")`));
  assert.ok(out.includes(`("fr" "en-GB") "http://example.test/x"`));
});

Deno.test("IMAP strings: quoted, escaped, literal for 8-bit, line ends and many quotes", () => {
  assert.equal(imapString("plain"), '"plain"');
  assert.equal(imapString('a "b" c'), '"a \\"b\\" c"');
  assert.equal(imapString("caf\xc3\xa9"), "{5}\r\ncaf\xc3\xa9");
  assert.equal(imapString("a\r\nb"), "{4}\r\na\r\nb");
  assert.equal(imapString('"1" "2" "3"'), '{11}\r\n"1" "2" "3"');
});

Deno.test("ENVELOPE: groups, routes, comments as names, missing parts, defaults", () => {
  const root = parseMessage(fixture("28-addresses.eml"));
  const env = envelope(root);
  assert.deepEqual(env.from, [{
    name: "Joe Q. Public",
    adl: null,
    mailbox: "john.q.public",
    host: "example.com",
  }]);
  assert.deepEqual(env.to?.map((a) => [a.name, a.adl, a.mailbox, a.host]), [
    [null, null, "A Group", null],
    ["Ed Jones", null, "c", "a.test"],
    [null, null, "joe", "where.test"],
    ["John", null, "jdoe", "one.test"],
    [null, null, null, null],
    ["Mary", "@r1.test,@r2.test", "mary", "y.test"],
  ]);
  assert.deepEqual(env.cc?.[2], {
    name: null,
    adl: null,
    mailbox: "quoted local",
    host: "example.test",
  });
  assert.deepEqual(env.cc?.[3], { name: "Real Name", adl: null, mailbox: "c", host: "d.test" });
  assert.equal(env.cc?.[4].name, "=?utf-8?q?Caf=C3=A9?=", "encoded words stay raw");
  assert.deepEqual(env.bcc?.map((a) => [a.mailbox, a.host]), [
    ["noat", "MISSING_DOMAIN"],
    ["MISSING_MAILBOX", "MISSING_DOMAIN"],
    ["MISSING_MAILBOX", "nohost"],
  ]);
  assert.equal(env.messageId, " <folded@example.test>");
  assert.equal(env.inReplyTo, "<a@b> <c@d>");
  assert.match(formatEnvelope(env), /^\("Mon, 23 Nov 2026 10:00:00 \+0000" \{48\}\r\n=\?iso/);
  // Reply-To given, Sender given; a message with only From defaults both (RFC 3501 7.4.2).
  const plain = envelope(parseMessage(crlf("From: a@b.test\nSubject: s\n\nx\n")));
  assert.deepEqual(plain.sender, plain.from);
  assert.deepEqual(plain.replyTo, plain.from);
  assert.equal(plain.to, null);
});

Deno.test("ENVELOPE subject and names are cleaned for humans; empty fields are NIL", () => {
  const env = envelope(parseMessage(fixture("49-sender-empty.eml")));
  assert.deepEqual(env.sender, env.from, "an empty Sender defaults to From");
  assert.equal(env.to, null, "a comment alone is no address");
  const spaced = parseMessage(crlf("Subject:  two  spaces\tand tab \n\nx\n"));
  assert.match(formatEnvelope(envelope(spaced)), /^\(NIL \{18\}\r\ntwo spaces and tab NIL/);
});

Deno.test("address lists: RFC 5322 A.1.2 and A.1.3 examples", () => {
  const list = parseAddressList(
    '"Joe Q. Public" <john.q.public@example.com>, Mary Smith <mary@x.test>, jdoe@example.org, ' +
      "Who? <one@y.test>",
  );
  assert.deepEqual(list.map((a) => [a.name, a.mailbox, a.host]), [
    ["Joe Q. Public", "john.q.public", "example.com"],
    ["Mary Smith", "mary", "x.test"],
    [null, "jdoe", "example.org"],
    ["Who?", "one", "y.test"],
  ]);
  const group = parseAddressList(
    "A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;",
  );
  assert.equal(group.length, 5);
  assert.deepEqual(parseAddressList("Undisclosed recipients:;"), [
    { name: null, adl: null, mailbox: "Undisclosed recipients", host: null },
    { name: null, adl: null, mailbox: null, host: null },
  ]);
  assert.deepEqual(
    parseAddressList("Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>"),
    [
      { name: "Pete", adl: null, mailbox: "pete", host: "silly.test" },
    ],
  );
});
