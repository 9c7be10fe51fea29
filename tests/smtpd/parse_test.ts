import assert from "node:assert/strict";
import { MailError } from "../../src/errors.ts";
import { parsePath, splitPath } from "../../src/smtpd/address.ts";
import { decodeCommand, looksLikeHeader } from "../../src/smtpd/command.ts";
import {
  parseMailParams,
  parseNotify,
  parseOrcpt,
  parseRcptParams,
  splitParams,
} from "../../src/smtpd/params.ts";
import { bdatCount } from "../../src/smtpd/session.ts";
import { decodeXtext, encodeXtext } from "../../src/smtpd/xtext.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const sender = { kind: "sender", strict: false } as const;
const recipient = { kind: "recipient", strict: false } as const;
const address = (path: string, options: Parameters<typeof parsePath>[1] = recipient) => {
  const r = parsePath(path, options);
  return r.ok ? r.address : `${r.problem}: ${r.detail}`;
};

Deno.test("command lines: verb upper-cased, blanks trimmed, arguments kept", () => {
  assert.deepEqual(decodeCommand(enc("mail FROM:<a@b.example> SIZE=10 ")), {
    verb: "MAIL",
    args: "FROM:<a@b.example> SIZE=10",
    text: "mail FROM:<a@b.example> SIZE=10",
  });
  assert.deepEqual(decodeCommand(enc("  NOOP")), { verb: "NOOP", args: "", text: "NOOP" });
});

Deno.test("command lines: NUL, invalid UTF-8, bare CR and empty lines are refused precisely", () => {
  const reply = (bytes: Uint8Array) => {
    const r = decodeCommand(bytes);
    return r instanceof MailError ? r.reply : "accepted";
  };
  assert.equal(reply(enc("NOOP\0x")), "500 5.5.2 Error: NUL character in command");
  assert.equal(
    reply(new Uint8Array([0x48, 0x45, 0x4c, 0x4f, 0x20, 0xff])),
    "500 5.5.2 Error: bad UTF-8 syntax",
  );
  assert.equal(reply(enc("HELO a\rb")), "500 5.5.2 Error: bad syntax");
  assert.equal(reply(enc("   ")), "500 5.5.2 Error: bad syntax");
  assert.equal(reply(enc("EHLO détente.example")), "accepted");
});

Deno.test("header-looking lines are spotted (someone sends a message as commands)", () => {
  assert.ok(looksLikeHeader("Subject: hello"));
  assert.ok(looksLikeHeader("X-Mailer:x"));
  assert.ok(!looksLikeHeader("MAIL FROM:<a@b>"));
  assert.ok(!looksLikeHeader("NOOP"));
});

Deno.test("paths: brackets, params split off, quoted local parts with '>' and spaces", () => {
  assert.deepEqual(splitPath("<a@b.example> SIZE=1 BODY=8BITMIME", false), {
    path: "<a@b.example>",
    params: "SIZE=1 BODY=8BITMIME",
  });
  assert.deepEqual(splitPath(' <"x> y"@b.example>', false), {
    path: '<"x> y"@b.example>',
    params: "",
  });
  assert.equal(splitPath("<a@b.example>SIZE=1", false), undefined);
  assert.equal(splitPath("<a@b.example", false), undefined);
  // Without strict_rfc821_envelopes, a bare address is accepted as Postfix does.
  assert.deepEqual(splitPath("a@b.example SIZE=1", false), {
    path: "a@b.example",
    params: "SIZE=1",
  });
  assert.equal(splitPath("a@b.example", true), undefined);
});

Deno.test("addresses come out in internal form: quotes removed, source route dropped", () => {
  assert.equal(address("<user@example.com>"), "user@example.com");
  assert.equal(address('<"john doe"@example.com>'), "john doe@example.com");
  assert.equal(address('<"a\\"b"@example.com>'), 'a"b@example.com');
  assert.equal(address("<@relay.example,@hop.example:user@example.com>"), "user@example.com");
  assert.equal(address("<user@[192.0.2.1]>"), "user@[192.0.2.1]");
  assert.equal(address("<user@[IPv6:2001:db8::1]>"), "user@[IPv6:2001:db8::1]");
  assert.equal(address("<Postmaster>"), "Postmaster");
  assert.equal(address("<>", sender), "");
  assert.equal(address("user@example.com"), "user@example.com");
});

Deno.test("bad addresses are syntax errors", () => {
  for (
    const bad of [
      "<>", // null recipient
      "<user>", // no domain (only postmaster may omit it)
      "<user@>",
      "<user@-bad.example>",
      "<user@bad_domain.example>",
      "<us er@example.com>",
      '<"unterminated@example.com>',
      "<a@b@c.example>",
      "<user@[300.1.1.1]>",
      "<user@[IPv6:zz::1]>",
      "<@relay.example user@example.com>",
      "<user@example.com",
    ]
  ) {
    assert.match(address(bad), /^syntax/, bad);
  }
  assert.equal(address("<>", sender), "");
  assert.match(address("<user>", sender), /^syntax/);
});

Deno.test("strict_rfc821_envelopes requires <> and clean dots", () => {
  const strict = { kind: "recipient", strict: true } as const;
  assert.match(address("user@example.com", strict), /^syntax/);
  assert.match(address("<first..last@example.com>", strict), /^syntax/);
  assert.equal(address("<first..last@example.com>"), "first..last@example.com");
});

Deno.test("length limits: local part 64, path 256 octets (RFC 5321 4.5.3.1)", () => {
  const local64 = "l".repeat(64);
  assert.equal(address(`<${local64}@example.com>`), `${local64}@example.com`);
  assert.equal(address(`<${local64}x@example.com>`), "length: local part longer than 64 octets");
  const domain = Array.from({ length: 4 }, () => "d".repeat(60)).join(".") + ".example"; // 251
  assert.equal(address(`<uu@${domain}>`), `uu@${domain}`, "256 octets with <> is allowed");
  assert.equal(address(`<uuu@${domain}>`), "length: path longer than 256 octets");
  // Octets, not characters: 32 two-byte characters fill 64 octets.
  assert.match(address(`<${"é".repeat(33)}@example.com>`), /^length: local part/);
});

Deno.test("UTF-8 addresses parse and are flagged non-ASCII", () => {
  const r = parsePath("<jösé@exämple.de>", recipient);
  assert.deepEqual(r, { ok: true, address: "jösé@exämple.de", ascii: false });
  assert.deepEqual(parsePath("<a@b.example>", recipient), {
    ok: true,
    address: "a@b.example",
    ascii: true,
  });
});

Deno.test("xtext decodes +XX escapes and refuses what is not xtext", () => {
  assert.equal(decodeXtext("user+2Bfoo+3Dbar@example.com"), "user+foo=bar@example.com");
  assert.equal(decodeXtext("abc+2"), undefined);
  assert.equal(decodeXtext("a=b"), undefined);
  assert.equal(decodeXtext("a b"), undefined);
  assert.equal(decodeXtext("+FF"), undefined, "not UTF-8");
  assert.equal(encodeXtext("a+b=c d"), "a+2Bb+3Dc+20d");
  assert.equal(decodeXtext(encodeXtext("ü+=\\")), "ü+=\\");
});

Deno.test("MAIL parameters: SIZE, BODY, SMTPUTF8, RET, ENVID", () => {
  const caps = { messageSizeLimit: 1000, smtputf8: true, dsn: true, binarymime: true };
  const parse = (text: string, c = caps) => {
    const params = splitParams(text);
    if (params instanceof MailError) return params.reply;
    const r = parseMailParams(params, c);
    return r instanceof MailError ? r.reply : r;
  };
  assert.deepEqual(parse("size=999 body=8bitmime SMTPUTF8 RET=hdrs ENVID=QQ+2B1"), {
    size: 999,
    body: "8BITMIME",
    smtputf8: true,
    ret: "HDRS",
    envid: "QQ+1",
  });
  assert.equal(parse("SIZE=1001"), "552 5.3.4 Message size exceeds fixed limit");
  assert.equal(parse("SIZE=1001", { ...caps, messageSizeLimit: 0 }).toString(), "[object Object]");
  assert.equal(parse("SIZE=12k"), "501 5.5.4 Bad message size syntax");
  assert.equal(parse("BODY=BINARYMIME").toString(), "[object Object]");
  assert.equal(
    parse("BODY=BINARYMIME", { ...caps, binarymime: false }),
    "555 5.5.4 Unsupported option: BODY=BINARYMIME",
  );
  assert.equal(parse("BODY=9BIT"), "555 5.5.4 Unsupported option: BODY=9BIT");
  assert.equal(
    parse("SMTPUTF8", { ...caps, smtputf8: false }),
    "555 5.5.4 Unsupported option: SMTPUTF8",
  );
  assert.equal(parse("RET=ALL"), "501 5.5.4 Bad RET parameter syntax");
  assert.equal(parse("RET=FULL RET=HDRS"), "501 5.5.4 Bad RET parameter syntax");
  assert.equal(parse("ENVID=a+ZZ"), "501 5.5.4 Bad ENVID parameter syntax");
  assert.equal(parse(`ENVID=${"x".repeat(101)}`), "501 5.5.4 Bad ENVID parameter syntax");
  assert.equal(parse("RET=FULL", { ...caps, dsn: false }), "501 5.7.1 DSN support is disabled");
  assert.equal(parse("AUTH=<>"), "555 5.5.4 Unsupported option: AUTH=<>");
  assert.equal(parse("X-FOO"), "555 5.5.4 Unsupported option: X-FOO");
  assert.equal(parse("=x"), "555 5.5.4 Unsupported option: =x");
});

Deno.test("RCPT parameters: NOTIFY and ORCPT (RFC 3461)", () => {
  const caps = { messageSizeLimit: 0, smtputf8: true, dsn: true, binarymime: true };
  const parse = (text: string) => {
    const params = splitParams(text);
    if (params instanceof MailError) return params.reply;
    const r = parseRcptParams(params, caps);
    return r instanceof MailError ? r.reply : r;
  };
  assert.deepEqual(parse("NOTIFY=success,DELAY ORCPT=rfc822;bob+2Bx@example.com"), {
    notify: ["SUCCESS", "DELAY"],
    orcpt: "rfc822;bob+x@example.com",
  });
  assert.deepEqual(parse("NOTIFY=NEVER"), { notify: ["NEVER"] });
  assert.equal(parse("NOTIFY=NEVER,SUCCESS"), "501 5.5.4 Error: Bad NOTIFY parameter syntax");
  assert.equal(parse("NOTIFY=SOMETIMES"), "501 5.5.4 Error: Bad NOTIFY parameter syntax");
  assert.equal(parse("NOTIFY=DELAY NOTIFY=DELAY"), "501 5.5.4 Error: Bad NOTIFY parameter syntax");
  assert.equal(parse("ORCPT=bob@example.com"), "501 5.5.4 Error: Bad ORCPT parameter syntax");
  assert.equal(parse("ORCPT=rfc822;"), "501 5.5.4 Error: Bad ORCPT parameter syntax");
  assert.equal(parse("SIZE=10"), "555 5.5.4 Unsupported option: SIZE=10");
  assert.deepEqual(parseNotify("failure"), ["FAILURE"]);
  assert.equal(parseOrcpt(`rfc822;${"x".repeat(500)}`), undefined);
});

Deno.test("BDAT sizes: digits only, safe integers", () => {
  assert.equal(bdatCount("100"), 100);
  assert.equal(bdatCount("0 LAST"), 0);
  assert.equal(bdatCount("12 last"), 12);
  assert.equal(bdatCount("x"), undefined);
  assert.equal(bdatCount("-1"), undefined);
  assert.equal(bdatCount("99999999999999999999"), undefined);
  assert.equal(bdatCount("12x"), undefined);
});
