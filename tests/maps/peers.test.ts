import assert from "node:assert/strict";
import { findPeer } from "../peers.ts";

/** Run `deno test` on a file that needs a peer nobody has installed, with or without CI set. */
async function runWithMissingPeer(ci: boolean) {
  const dir = Deno.makeTempDirSync({ prefix: "facteur-peers-" });
  const peers = new URL("../peers.ts", import.meta.url).href;
  Deno.writeTextFileSync(
    `${dir}/needs_peer.test.ts`,
    `import { requirePeer } from "${peers}";\n` +
      `Deno.test({ name: "uses the peer", ...requirePeer("no-such-peer-binary", "fake-package"), fn() {} });\n`,
  );
  const env: Record<string, string> = { NO_COLOR: "1", RUST_BACKTRACE: "0" };
  for (const name of ["PATH", "HOME", "DENO_DIR"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  if (ci) env.CI = "true";
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["test", "--allow-all", "--no-config", `${dir}/needs_peer.test.ts`],
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  Deno.removeSync(dir, { recursive: true });
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { code: out.code, text };
}

Deno.test("requirePeer: a missing peer is skipped with an install hint outside CI", async () => {
  const { code, text } = await runWithMissingPeer(false);
  assert.equal(code, 0, text);
  assert.match(
    text,
    /skipping tests that need no-such-peer-binary not found: install the Debian package\(s\) "fake-package"/,
  );
  assert.match(text, /1 ignored/);
});

Deno.test("requirePeer: a missing peer fails the run on CI, naming the Debian package", async () => {
  const { code, text } = await runWithMissingPeer(true);
  assert.notEqual(code, 0, text);
  assert.match(text, /interop peer no-such-peer-binary is installed .*FAILED/);
  assert.match(text, /apt-get install fake-package/);
});

Deno.test("findPeer: finds programs in $PATH and in the sbin directories", () => {
  assert.equal(findPeer("no-such-peer-binary"), undefined);
  assert.ok(findPeer("sh")?.endsWith("/sh"));
});
