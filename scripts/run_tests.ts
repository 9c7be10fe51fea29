/**
 * `deno task test`: runs the whole suite with `deno test` and ends with the
 * plain "N passed, N failed" line CI reads (deno's own summary line is not one).
 * Extra arguments go to `deno test` (e.g. a path or `--filter smtpd`).
 */
const args = [
  "test",
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-sys",
  "--allow-run",
  ...Deno.args,
];
// The interoperability peers (postconf, postmap, dnsmasq) live in sbin, often not on a user's PATH.
const PATH = [Deno.env.get("PATH"), "/usr/local/sbin", "/usr/sbin", "/sbin"].filter(Boolean).join(
  ":",
);
const child = new Deno.Command(Deno.execPath(), {
  args,
  env: { PATH },
  stdout: "piped",
  stderr: "inherit",
}).spawn();
let tail = "";
const decoder = new TextDecoder();
for await (const chunk of child.stdout) {
  await Deno.stdout.write(chunk);
  tail = (tail + decoder.decode(chunk, { stream: true })).slice(-4096);
}
const { code } = await child.status;
// deno: "ok | 12 passed (3 steps) | 0 failed | 1 ignored (2s)" or "FAILED | 3 passed | 1 failed (16ms)"
const summary = tail.replace(/\x1b\[[0-9;]*m/g, "").match(
  /(\d+) passed.*?\| (\d+) failed(?: \| (\d+) ignored)?/,
);
if (summary) {
  const [, passed, failed, ignored] = summary;
  console.log(`${passed} passed, ${failed} failed${ignored ? `, ${ignored} skipped` : ""}`);
}
Deno.exit(code);
