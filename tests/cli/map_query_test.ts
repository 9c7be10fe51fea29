// postmap -q's output rules, over facteur's tables (the e2e suite compares with postmap itself).
import assert from "node:assert/strict";
import { keysFromText, queryTable } from "../../src/cli/map_query.ts";
import { openMap } from "../../src/maps/mod.ts";

Deno.test("keys from stdin: one per line, the whole line (spaces kept), CRLF and empty lines dropped", () => {
  assert.deepEqual(keysFromText("a\r\n\nb c\n  d  \n"), ["a", "b c", "  d  "]);
  assert.deepEqual(keysFromText(""), []);
});

Deno.test("one key prints its value; tabbed output prints key<TAB>value as the key was given", async () => {
  const table = openMap("inline:{ a=1, { b = two words } }");
  assert.deepEqual(await queryTable(table, ["A"], false), { lines: ["1"], found: 1 });
  assert.deepEqual(await queryTable(table, ["A", "zz", "b"], true), {
    lines: ["A\t1", "b\ttwo words"],
    found: 2,
  });
  assert.deepEqual(await queryTable(table, ["zz"], false), { lines: [], found: 0 });
});

Deno.test("regexp substitution and cidr matching through the same path", async () => {
  const re = openMap("regexp:{ {/^(.*)@old\\.test$/ $1@new.test} }");
  assert.deepEqual((await queryTable(re, ["joe@old.test"], false)).lines, ["joe@new.test"]);
  const cidr = openMap("cidr:{ {192.0.2.0/24 OK} }");
  assert.deepEqual((await queryTable(cidr, ["192.0.2.9", "10.0.0.1"], true)).lines, [
    "192.0.2.9\tOK",
  ]);
});
