/** `facteur check` validates fast_flush_domains like the other tables, naming the parameter. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { checkCommand } from "../../src/cli/check.ts";

/** Runs check on a configuration with `extra` lines; its exit code and printed lines. */
async function check(extra: string): Promise<{ code: number; out: string }> {
  const dir = await Deno.makeTempDir({ prefix: "facteur-check-" });
  const file = join(dir, "facteur.toml");
  await Deno.writeTextFile(
    file,
    `data_directory = "${join(dir, "data")}"\n${extra}\n[services.smtp]\nlisten = "127.0.0.1:0"\n`,
  );
  const lines: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => lines.push(args.join(" "));
  try {
    const code = await checkCommand(file);
    return { code, out: lines.join("\n") };
  } finally {
    console.log = log;
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("check: good fast_flush_domains pass", async () => {
  const r = await check(
    `fast_flush_domains = ["backup.example", ".sub.example", "inline:{ x.example=ok }"]`,
  );
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /^ok\s+daemon settings/m);
});

Deno.test("check: an unknown table type in fast_flush_domains fails, naming the parameter", async () => {
  const r = await check(`fast_flush_domains = ["backup.example", "nosuch:/etc/flush"]`);
  assert.equal(r.code, 1);
  assert.match(
    r.out,
    /^FAIL\s+daemon settings .*: parameter "fast_flush_domains": lookup table type "nosuch" is not supported/m,
  );
});

Deno.test('check: a lone "!" in fast_flush_domains fails, naming the parameter', async () => {
  const r = await check(`fast_flush_domains = ["backup.example", "!"]`);
  assert.equal(r.code, 1);
  assert.match(
    r.out,
    /^FAIL\s+daemon settings .*: parameter "fast_flush_domains": "!" without a pattern$/m,
  );
});

Deno.test("check: a missing fast_flush_domains table file only warns (as for other tables)", async () => {
  const r = await check(`fast_flush_domains = ["hash:/nonexistent/facteur-flush"]`);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /^warn\s+fast_flush_domains: .*No such file or directory/m);
});
