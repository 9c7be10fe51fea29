// sender_bcc_maps / recipient_bcc_maps lookups (bcc.ts).
import assert from "node:assert/strict";
import { findBcc } from "../../src/rewrite/bcc.ts";
import { Rewriter, TableList } from "../../src/rewrite/mod.ts";
import { testConfig, testTables } from "./helpers.ts";

function setup(spec: string) {
  const t = testTables();
  const rewriter = new Rewriter(testConfig({ recipient_delimiter: "+" }), { openTable: t.open });
  const tables = new TableList("sender_bcc_maps", [spec], t.open);
  return { find: (a: string) => findBcc(tables, a, rewriter.searchSettings), lookups: t.lookups };
}

Deno.test("the table's address for a sender; an unmatched extension is not carried over", async () => {
  const { find } = setup(
    "inline:{ hotline1@domaine.fr=hotline1@sauv.fr, @team.example=archive@sauv.fr }",
  );
  assert.equal(await find("hotline1@domaine.fr"), "hotline1@sauv.fr");
  assert.equal(await find("hotline1+x@domaine.fr"), "hotline1@sauv.fr");
  assert.equal(await find("anyone@team.example"), "archive@sauv.fr");
  assert.equal(await find("other@domaine.fr"), undefined);
});

Deno.test("the null sender is never looked up; a 'Name <addr>' value gives the address", async () => {
  const { find, lookups } = setup("count:inline:{ { a@x.net = Archive <arch@x.net> } }");
  assert.equal(await find(""), undefined);
  assert.deepEqual(lookups, []);
  assert.equal(await find("a@x.net"), "arch@x.net");
});
