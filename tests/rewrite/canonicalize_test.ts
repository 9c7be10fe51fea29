// trivial-rewrite's "rewrite" context (canonicalize.ts), with the examples of
// postconf(5) append_at_myorigin, append_dot_mydomain, swap_bangpath,
// allow_percent_hack and ADDRESS_REWRITING_README.
import assert from "node:assert/strict";
import {
  canonicalizeAddress,
  localContext,
  remoteContext,
  type RewriteContext,
  type RewriteSwitches,
  rewriteSwitches,
} from "../../src/rewrite/canonicalize.ts";
import { testConfig } from "./helpers.ts";

const local: RewriteContext = { name: "local", origin: "example.com", domain: "example.com" };
const defaults: RewriteSwitches = {
  swap_bangpath: true,
  allow_percent_hack: true,
  append_at_myorigin: true,
  append_dot_mydomain: false,
};
const rewrite = (a: string, sw: Partial<RewriteSwitches> = {}, ctx = local) =>
  canonicalizeAddress(a, ctx, { ...defaults, ...sw });

Deno.test("append_at_myorigin: a bare user gets @$myorigin; off, it stays bare", () => {
  assert.equal(rewrite("joe"), "joe@example.com");
  assert.equal(rewrite("joe", { append_at_myorigin: false }), "joe");
  assert.equal(rewrite("joe@other.net"), "joe@other.net");
});

Deno.test("append_dot_mydomain: user@host becomes user@host.$mydomain, not literals nor dotted names", () => {
  const on = { append_dot_mydomain: true };
  assert.equal(rewrite("joe@host", on), "joe@host.example.com");
  assert.equal(rewrite("joe@host.sub", on), "joe@host.sub");
  assert.equal(rewrite("joe@[192.0.2.1]", on), "joe@[192.0.2.1]");
  assert.equal(rewrite("joe@", on), "joe@", "a broken form ending in @ is left alone");
  assert.equal(rewrite("joe@host"), "joe@host", "off by default (compatibility_level >= 1)");
  // Both steps: a bare user gets @$myorigin, and $myorigin already has a dot.
  assert.equal(rewrite("joe", on), "joe@example.com");
  assert.equal(
    rewrite("joe", on, { name: "local", origin: "box", domain: "example.com" }),
    "joe@box.example.com",
  );
});

Deno.test("swap_bangpath: site!user → user@site; the first ! splits; off leaves it", () => {
  assert.equal(rewrite("site!user"), "user@site");
  assert.equal(rewrite("a!b!user"), "b!user@a");
  assert.equal(rewrite("site!user", { swap_bangpath: false }), "site!user@example.com");
  // With an @, a bang path is an ordinary localpart.
  assert.equal(rewrite("site!user@example.net"), "site!user@example.net");
});

Deno.test("allow_percent_hack: user%domain → user@domain at the last %; bang wins over percent", () => {
  assert.equal(rewrite("user%example.net"), "user@example.net");
  assert.equal(rewrite("user%a%b"), "user%a@b");
  assert.equal(
    rewrite("user%example.net", { allow_percent_hack: false }),
    "user%example.net@example.com",
  );
  assert.equal(rewrite("site!user%x"), "user%x@site");
  assert.equal(rewrite("user%x@example.net"), "user%x@example.net", "only without @");
});

Deno.test("a quoted localpart's ! and % are not operators", () => {
  assert.equal(rewrite("a b!c"), "a b!c@example.com");
  assert.equal(rewrite("a b%c"), "a b%c@example.com");
});

Deno.test("empty address, lone @, source route, trailing dot", () => {
  assert.equal(rewrite(""), "");
  assert.equal(rewrite("@"), "");
  assert.equal(rewrite("@a.example,@b.example:joe@example.net"), "joe@example.net");
  assert.equal(rewrite("joe@example.net."), "joe@example.net");
  assert.equal(rewrite("joe@example.net.."), "joe@example.net..", "dot-dot stays");
  assert.equal(rewrite("joe@."), "joe@.", "@-dot stays");
});

Deno.test("contexts from the configuration: local = myorigin/mydomain, remote = remote_header_rewrite_domain", () => {
  const config = testConfig({ mydomain: "example.com", myorigin: "$mydomain" });
  assert.deepEqual(localContext(config), {
    name: "local",
    origin: "example.com",
    domain: "example.com",
  });
  assert.equal(remoteContext(config), undefined, "empty: remote headers are not rewritten");
  const remote = remoteContext(testConfig({ remote_header_rewrite_domain: "domain.invalid" }))!;
  assert.equal(
    canonicalizeAddress("joe", remote, rewriteSwitches(testConfig())),
    "joe@domain.invalid",
  );
  assert.deepEqual(rewriteSwitches(testConfig({ swap_bangpath: "no" })), {
    ...defaults,
    swap_bangpath: false,
  });
});
