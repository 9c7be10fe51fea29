// The single-file artifact: `deno task bundle` output runs from an empty
// directory with no npm access and delivers mail like the source tree does.
import assert from "node:assert/strict";
import { join } from "node:path";
import { RawClient } from "../smtpd/helpers.ts";
import { eventually, mailbox, maildirMessages, ROOT, startServer } from "./harness.ts";

Deno.test("the bundled dist file serves SMTP and delivers, run from an empty directory", async () => {
  const work = await Deno.makeTempDir({ prefix: "facteur-bundle-" });
  try {
    const out = join(work, "facteur.js");
    const build = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", join(ROOT, "scripts/bundle.ts"), out],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(build.success, new TextDecoder().decode(build.stderr));
    const empty = join(work, "empty");
    await Deno.mkdir(empty);
    const server = await startServer({
      entry: out,
      cwd: empty,
      runFlags: ["--no-npm", "--no-remote", "--no-config"],
    });
    try {
      const { client } = await RawClient.open(server.port);
      assert.match(await client.command("EHLO bundle.test"), /^250/);
      assert.match(await client.command("MAIL FROM:<b@bundle.test>"), /^250/);
      assert.match(await client.command("RCPT TO:<alice@example.test>"), /^250/);
      assert.match(await client.command("DATA"), /^354/);
      assert.match(
        await client.command("Subject: bundled\r\n\r\nhi\r\n."),
        /^250 2\.0\.0 Ok: queued/,
      );
      await client.command("QUIT");
      client.close();
      const [file] = await eventually(async () => {
        const m = await maildirMessages(mailbox(server, "alice"));
        return m.length ? m : undefined;
      });
      assert.match(
        new TextDecoder().decode(file.bytes),
        /\nSubject: bundled\n(?:[^\n]+\n)*\nhi\n$/,
      );
    } finally {
      await server.stop();
    }
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});
