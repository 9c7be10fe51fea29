/** The pure parts of pop3d: message encoding, command parsing, SASL PLAIN, the maildrop view, settings. */
import assert from "node:assert/strict";
import { parseCommand, parseNumber } from "../../src/pop3d/command.ts";
import { MaildropView } from "../../src/pop3d/maildrop_view.ts";
import { crlfSize, retrText, topText } from "../../src/pop3d/message_text.ts";
import { decodeBase64, parsePlain } from "../../src/pop3d/sasl.ts";
import { isLoopback, pop3dSettings } from "../../src/pop3d/settings.ts";
import { ConfigError } from "../../src/errors.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("RETR text: bare LF becomes CRLF, dot lines are stuffed, terminator added", () => {
  const text = retrText(enc("Subject: x\n\n.hidden\n..two\nlast line without newline"));
  assert.equal(
    dec(text.bytes),
    "Subject: x\r\n\r\n..hidden\r\n...two\r\nlast line without newline\r\n.\r\n",
  );
  assert.equal(text.messageOctets, text.bytes.length - 3);
});

Deno.test("RETR text: CRLF input is kept as is; a lone '.' line is stuffed", () => {
  assert.equal(
    dec(retrText(enc("A: b\r\n\r\n.\r\nend\r\n")).bytes),
    "A: b\r\n\r\n..\r\nend\r\n.\r\n",
  );
  assert.equal(dec(retrText(new Uint8Array()).bytes), ".\r\n");
});

Deno.test("TOP text: header, blank line, then n body lines", () => {
  const msg = enc("A: 1\nB: 2\n\nline1\n.line2\nline3\n");
  assert.equal(dec(topText(msg, 0).bytes), "A: 1\r\nB: 2\r\n\r\n.\r\n");
  assert.equal(dec(topText(msg, 2).bytes), "A: 1\r\nB: 2\r\n\r\nline1\r\n..line2\r\n.\r\n");
  assert.equal(dec(topText(msg, 99).bytes), dec(retrText(msg).bytes));
  // No blank line: the whole message is header.
  assert.equal(dec(topText(enc("A: 1\nB: 2"), 0).bytes), "A: 1\r\nB: 2\r\n.\r\n");
});

Deno.test("crlfSize counts bare LF as two octets and adds a missing final CRLF", () => {
  assert.equal(crlfSize(enc("a\nb\r\n")), 6);
  assert.equal(crlfSize(enc("a")), 3);
  assert.equal(crlfSize(new Uint8Array()), 0);
  const msg = enc("X: y\n\n.dot\nz");
  // The size is of the message before stuffing: stuffed output is one octet longer.
  assert.equal(retrText(msg).messageOctets, crlfSize(msg) + 1);
});

Deno.test("parseCommand: keyword case-insensitive, PASS keeps spaces, bad bytes refused", () => {
  assert.deepEqual(parseCommand(enc("list 2")), { verb: "LIST", rest: "2", args: ["2"] });
  assert.deepEqual(parseCommand(enc("PASS  my secret ")), {
    verb: "PASS",
    rest: " my secret ",
    args: ["my", "secret"],
  });
  assert.equal(parseCommand(enc("")), "Empty command");
  assert.equal(parseCommand(enc("US\0ER x")), "Invalid characters in command");
  assert.equal(parseCommand(new Uint8Array([0x55, 0xff])), "Invalid UTF-8 in command");
});

Deno.test("parseNumber: decimal digits only, named in the error", () => {
  assert.equal(parseNumber("12", "message number"), 12);
  assert.equal(parseNumber("-1", "message number"), "Invalid message number: -1");
  assert.equal(parseNumber("1e3", "message number"), "Invalid message number: 1e3");
  assert.equal(parseNumber("99999999999", "message number"), "Invalid message number: 99999999999");
  assert.equal(
    parseNumber("x".repeat(100), "number of lines"),
    `Invalid number of lines: ${"x".repeat(40)}...`,
  );
});

Deno.test("SASL PLAIN: fields, '=' for empty, strict base64", () => {
  assert.deepEqual(parsePlain(btoa("\0alice\0pw d")), {
    authzid: "",
    authcid: "alice",
    password: "pw d",
  });
  assert.equal(
    parsePlain("="),
    "Invalid SASL PLAIN response: expected authzid NUL authcid NUL password",
  );
  assert.equal(parsePlain("not base64!"), "Invalid base64 data in SASL response");
  assert.equal(parsePlain("AGFsaWNl AHB3"), "Invalid base64 data in SASL response");
  assert.equal(parsePlain("AGFsaWNlAHB3Z"), "Invalid base64 data in SASL response");
  assert.equal(
    parsePlain(btoa("alice")),
    "Invalid SASL PLAIN response: expected authzid NUL authcid NUL password",
  );
  assert.equal(
    parsePlain(btoa("\0alice\0")),
    "Invalid SASL PLAIN response: empty user name or password",
  );
  assert.equal(parsePlain(btoa("\0\xff\0x")), "Invalid UTF-8 in SASL PLAIN response");
  assert.deepEqual(decodeBase64("YQ=="), new Uint8Array([0x61]));
  assert.equal(decodeBase64("YQ="), undefined);
});

Deno.test("MaildropView: numbers stay, deleted messages are hidden and refused, RSET restores", () => {
  const view = new MaildropView([
    { uidl: "a", size: 10 },
    { uidl: "b", size: 20 },
    { uidl: "c", size: 30 },
  ]);
  assert.deepEqual(view.stat(), { count: 3, octets: 60 });
  view.markDeleted(2);
  assert.deepEqual(view.stat(), { count: 2, octets: 40 });
  assert.deepEqual(view.visible().map((m) => m.number), [1, 3]);
  assert.equal(view.find("2"), "Message 2 is already deleted");
  assert.equal(view.find("4"), "There is no message 4: messages are numbered 1 to 3");
  assert.equal(view.find("0"), "There is no message 0: messages are numbered 1 to 3");
  assert.deepEqual(view.deletedIndexes(), [1]);
  view.reset();
  assert.deepEqual(view.deletedIndexes(), []);
  assert.equal(new MaildropView([]).find("1"), "There is no message 1: the maildrop is empty");
});

Deno.test("settings: defaults, plaintext only on loopback or TLS, bad values refused", () => {
  const s = pop3dSettings();
  assert.equal(s.timeoutMs, 600_000);
  assert.equal(s.plaintextAllowed({ address: "127.0.0.1", tls: false }), true);
  assert.equal(s.plaintextAllowed({ address: "::1", tls: false }), true);
  assert.equal(s.plaintextAllowed({ address: "192.0.2.1", tls: false }), false);
  assert.equal(s.plaintextAllowed({ address: "192.0.2.1", tls: true }), true);
  assert.equal(isLoopback("::ffff:127.0.0.5"), true);
  assert.equal(isLoopback("::2"), false);
  assert.throws(() => pop3dSettings({ lineLengthLimit: 100 }), ConfigError);
  assert.throws(() => pop3dSettings({ timeoutMs: -1 }), ConfigError);
  assert.throws(() => pop3dSettings({ greeting: "a\r\nb" }), ConfigError);
});
