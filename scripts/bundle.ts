/**
 * `deno task bundle`: the whole server as one self-contained JavaScript file,
 * dist/facteur.js, that runs with `deno run` from an empty directory (npm
 * dependencies are inside; only node: built-ins stay imports).
 */
const out = Deno.args[0] ?? "dist/facteur.js";
const result = await new Deno.Command(Deno.execPath(), {
  args: ["bundle", "--quiet", "--platform", "deno", "-o", out, "mod.ts"],
  stdout: "inherit",
  stderr: "inherit",
}).output();
if (!result.success) {
  console.error(`bundle: deno bundle failed (exit ${result.code})`);
  Deno.exit(result.code || 1);
}
const { size } = await Deno.stat(out);
console.log(`bundle: wrote ${out} (${(size / 1024).toFixed(0)} KiB)`);
console.log(
  `run it anywhere with: deno run --allow-net --allow-read --allow-write --allow-env --allow-sys --allow-run ${out} serve -c FILE`,
);
