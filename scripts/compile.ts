/**
 * `deno task compile`: the single binary dist/facteur (`deno compile`).
 * deno compile downloads its runtime (denort) from dl.deno.land; where that
 * host cannot be reached this says so and exits non-zero. `deno task bundle`
 * makes the single-file JavaScript artifact without any download.
 */
const out = Deno.args[0] ?? "dist/facteur";
const result = await new Deno.Command(Deno.execPath(), {
  args: [
    "compile",
    "--allow-net",
    "--allow-read",
    "--allow-write",
    "--allow-env",
    "--allow-sys",
    "--allow-run",
    "-o",
    out,
    "mod.ts",
  ],
  stdout: "inherit",
  stderr: "piped",
}).output();
const stderr = new TextDecoder().decode(result.stderr);
await Deno.stderr.write(result.stderr);
if (!result.success) {
  if (/dl\.deno\.land|denort/.test(stderr)) {
    console.error(
      "\ncompile: deno compile needs to download its runtime (denort) from dl.deno.land, " +
        "which this machine cannot reach.\n" +
        "Run `deno task compile` on a machine with internet access, or set DENORT_BIN to a " +
        "denort binary of the same Deno version. `deno task bundle` makes a single-file " +
        "dist/facteur.js that needs no download.",
    );
  }
  Deno.exit(result.code || 1);
}
console.log(`compile: wrote ${out}`);
