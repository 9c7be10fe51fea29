// canonical(5) mapping (canonical.ts): TABLE SEARCH ORDER, ADDRESS EXTENSION,
// RESULT ADDRESS REWRITING and the recursion of cleanup_map11.
import assert from "node:assert/strict";
import { mapCanonical } from "../../src/rewrite/canonical.ts";
import { canonicalizeAddress } from "../../src/rewrite/canonicalize.ts";
import { Rewriter, TableList } from "../../src/rewrite/mod.ts";
import { RouteTrace, withTrace } from "../../src/rewrite/trace.ts";
import { testConfig, testTables } from "./helpers.ts";

function setup(table: string, opts: { propagate?: boolean; config?: Record<string, string> } = {}) {
  const t = testTables();
  const config = testConfig({ recipient_delimiter: "+", mydomain: "example.com", ...opts.config });
  const rewriter = new Rewriter(config, { openTable: t.open });
  const tables = new TableList("canonical_maps", [table], t.open);
  const warnings: string[] = [];
  const local = { name: "local" as const, origin: "mail.example.com", domain: "example.com" };
  const switches = {
    swap_bangpath: true,
    allow_percent_hack: true,
    append_at_myorigin: true,
    append_dot_mydomain: false,
  };
  const map = (address: string) =>
    mapCanonical(tables, address, {
      search: rewriter.searchSettings,
      propagateExtension: opts.propagate ?? true,
      complete: (a) => canonicalizeAddress(a, local, switches),
      warn: (w) => warnings.push(w),
    });
  return { map, lookups: t.lookups, warnings };
}

Deno.test("search order: user+ext@domain, user@domain, user+ext, user (local domain), @domain", async () => {
  const { map, lookups } = setup("count:inline:{ nothing=here }");
  assert.equal(await map("joe+x@mail.example.com"), "joe+x@mail.example.com");
  assert.deepEqual(lookups, [
    "joe+x@mail.example.com",
    "joe@mail.example.com",
    "joe+x",
    "joe",
    "@mail.example.com",
  ]);
});

Deno.test("a remote domain is never looked up by bare user name (canonical(5) 'user address')", async () => {
  const { map, lookups } = setup("count:inline:{ joe=joseph@example.org }");
  assert.equal(await map("joe@remote.example"), "joe@remote.example");
  assert.deepEqual(lookups, ["joe@remote.example", "@remote.example"]);
  assert.equal(await map("joe@mail.example.com"), "joseph@example.org");
});

Deno.test("seed 004: @domain.lan @example.org keeps the user, extension included", async () => {
  const { map } = setup("inline:{ @domain.lan=@example.org }");
  assert.equal(await map("gaston@domain.lan"), "gaston@example.org");
  assert.equal(await map("x+tag@domain.lan"), "x+tag@example.org");
  assert.equal(await map("gaston@other.lan"), "gaston@other.lan");
});

Deno.test("propagate_unmatched_extensions: the extension stripped to match goes to the result", async () => {
  const table =
    "inline:{ ann@example.net=anne@example.net, joe+tag@example.net=joseph@example.net }";
  const on = setup(table);
  assert.equal(await on.map("ann+x@example.net"), "anne+x@example.net");
  assert.equal(await on.map("joe+tag@example.net"), "joseph@example.net", "the full key matched");
  const off = setup(table, { propagate: false });
  assert.equal(await off.map("ann+x@example.net"), "anne@example.net");
});

Deno.test("a result without a domain is completed with @$myorigin (RESULT ADDRESS REWRITING)", async () => {
  const { map } = setup("inline:{ root@mail.example.com=admin }");
  assert.equal(await map("root@mail.example.com"), "admin@mail.example.com");
});

Deno.test("recursion: mapped again until an address maps onto itself; a loop stops after 10 rounds", async () => {
  const chain = setup("inline:{ a@x.net=b@x.net, b@x.net=c@x.net, c@x.net=c@x.net }");
  assert.equal(await chain.map("a@x.net"), "c@x.net");
  const loop = setup("inline:{ a@x.net=b@x.net, b@x.net=a@x.net }");
  assert.equal(await loop.map("a@x.net"), "a@x.net");
  assert.match(loop.warnings.join("\n"), /unreasonable canonical_maps map nesting for a@x\.net/);
});

Deno.test("a multi-valued result uses its first address and warns", async () => {
  const { map, warnings } = setup("inline:{ { a@x.net = b@x.net, c@x.net } }");
  assert.equal(await map("a@x.net"), "b@x.net");
  assert.match(warnings[0], /multi-valued canonical_maps entry for a@x\.net/);
});

Deno.test("the null address is never looked up; a failing table rejects", async () => {
  const { map, lookups } = setup("count:inline:{ a=b }");
  assert.equal(await map(""), "");
  assert.deepEqual(lookups, []);
  const failing = setup("fail:table is down");
  await assert.rejects(failing.map("a@x.net"), /table is down/);
});

Deno.test("each rewrite is reported to an active route trace", async () => {
  const { map } = setup("inline:{ @domain.lan=@example.org }");
  const trace = new RouteTrace();
  await withTrace(trace, () => map("gaston@domain.lan"));
  const steps = trace.events.filter((e) => e.kind === "step");
  assert.deepEqual(steps, [{
    kind: "step",
    stage: "canonical",
    text: "address gaston@domain.lan → gaston@example.org (canonical_maps)",
  }]);
  assert.ok(trace.events.some((e) => e.kind === "lookup" && e.key === "@domain.lan"));
});
