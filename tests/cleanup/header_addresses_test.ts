// Finding addresses in header bodies (header_addresses.ts), RFC 5322 3.4 shapes.
import assert from "node:assert/strict";
import { findHeaderAddresses } from "../../src/cleanup/header_addresses.ts";

const addresses = (text: string) => findHeaderAddresses(text).map((s) => s.address);
/** Each span cut out of the text, to check the positions. */
const cuts = (text: string) => findHeaderAddresses(text).map((s) => text.slice(s.start, s.end));

Deno.test("mailboxes: bare, name-addr, quoted names with commas, comments", () => {
  const text = ' "Doe, John" <john@example.com>, jane@example.com (Jane), <x@y.z>';
  assert.deepEqual(addresses(text), ["john@example.com", "jane@example.com", "x@y.z"]);
  assert.deepEqual(cuts(text), ["john@example.com", "jane@example.com", "x@y.z"]);
});

Deno.test("groups: the display name is no address; an empty group has none", () => {
  assert.deepEqual(addresses(" team: a@x.net, b@x.net;, c@x.net"), [
    "a@x.net",
    "b@x.net",
    "c@x.net",
  ]);
  assert.deepEqual(addresses(" undisclosed-recipients:;"), []);
});

Deno.test("encoded words and 8-bit names are phrases, not addresses", () => {
  assert.deepEqual(addresses(" =?utf-8?q?Jos=C3=A9?= <jose@example.com>"), ["jose@example.com"]);
});

Deno.test("quoted localparts are unquoted; domain literals kept; folding inside the list", () => {
  const text = ' "john smith"@example.com,\r\n\t<joe@[192.0.2.1]>';
  assert.deepEqual(addresses(text), ["john smith@example.com", "joe@[192.0.2.1]"]);
  assert.deepEqual(cuts(text), ['"john smith"@example.com', "joe@[192.0.2.1]"]);
});

Deno.test("tok822: two adjacent words without <> are two addresses; unqualified names are addresses", () => {
  assert.deepEqual(addresses(" john smith"), ["john", "smith"]);
  assert.deepEqual(addresses(" root, site!user, joe%example.net"), [
    "root",
    "site!user",
    "joe%example.net",
  ]);
});

Deno.test("odd input never throws: <>, unclosed quotes and brackets, a lone backslash", () => {
  assert.deepEqual(addresses(" <>"), []);
  assert.deepEqual(addresses(' "unclosed <a@b.c>'), ["unclosed <a@b.c>"]);
  assert.deepEqual(addresses(" Name <a@b.c"), ["a@b.c"]);
  assert.deepEqual(addresses(" (unclosed comment a@b.c"), []);
  assert.deepEqual(addresses(" \\"), ["\\"]);
  assert.deepEqual(addresses(""), []);
});
