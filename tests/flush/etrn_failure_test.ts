/**
 * flush(8) failures seen from an ETRN client: a queue that cannot requeue
 * gives Postfix's 458, the cause is logged, and the server keeps serving.
 * fast_flush_domains is checked when the service is built.
 */
import assert from "node:assert/strict";
import { parseConfig } from "../../src/config/mod.ts";
import { ConfigError } from "../../src/errors.ts";
import { FlushService } from "../../src/flush/mod.ts";
import { openMap } from "../../src/maps/mod.ts";
import type { QueueStore } from "../../src/queue/types.ts";
import { startSmtpServer } from "../../src/smtpd/mod.ts";
import { HOSTNAME, RawClient, stubPolicy } from "../smtpd/helpers.ts";

const openTable = (spec: string) => openMap(spec);

/** A queue whose requeueDomain fails the way a closed or broken store does. */
function failingQueue(): QueueStore {
  return {
    requeueDomain: () => Promise.reject(new Error("database is locked")),
  } as unknown as QueueStore;
}

Deno.test("ETRN: a failing requeue answers 458 and the server goes on serving", async () => {
  const config = parseConfig(
    `myhostname = "${HOSTNAME}"\nsmtpd_error_sleep_time = "0s"\n` +
      `fast_flush_domains = ["backup.example"]\n`,
  );
  const warnings: string[] = [];
  let kicks = 0;
  const flush = new FlushService(config, {
    queue: failingQueue(),
    openTable,
    kick: () => kicks++,
    warn: (text) => warnings.push(text),
  });
  const logs: string[] = [];
  const server = await startSmtpServer({
    config,
    policy: stubPolicy(),
    submit: () => Promise.resolve("QID1"),
    log: (line) => logs.push(line),
    etrn: (domain) => flush.etrn(domain),
  }, { host: "127.0.0.1", port: 0 });
  try {
    const { client } = await RawClient.open(server.address.port);
    try {
      await client.command("EHLO client.example");
      assert.equal(await client.command("ETRN backup.example"), "458 Unable to queue messages");
      assert.equal(kicks, 0, "nothing was requeued, nothing to wake");
      assert.deepEqual(warnings, ["warning: flush backup.example: database is locked"]);
      assert.ok(logs.some((l) => /reject: ETRN backup\.example from .*: Unable to queue/.test(l)));
      // The same session still works, and refuses an ineligible domain as before.
      assert.equal(
        await client.command("ETRN other.example"),
        "459 <other.example>: service unavailable",
      );
      assert.equal(await client.command("NOOP"), "250 2.0.0 Ok");
    } finally {
      client.close();
    }
    // A new client is served too.
    const { client: again } = await RawClient.open(server.address.port);
    try {
      assert.match(await again.command("EHLO again.example"), /^250-/);
      assert.equal(await again.command("ETRN backup.example"), "458 Unable to queue messages");
      assert.equal(await again.command("QUIT"), "221 2.0.0 Bye");
    } finally {
      again.close();
    }
  } finally {
    await server.close();
  }
});

Deno.test("FlushService refuses a bad fast_flush_domains at construction, naming the parameter", async () => {
  const build = (value: string) =>
    new FlushService(parseConfig(`fast_flush_domains = ${value}\n`), {
      queue: failingQueue(),
      openTable,
    });
  assert.throws(
    () => build(`["nosuch:/etc/flush"]`),
    (e) =>
      e instanceof ConfigError && e.param === "fast_flush_domains" &&
      /^parameter "fast_flush_domains": lookup table type "nosuch" is not supported/.test(
        e.message,
      ),
  );
  assert.throws(() => build(`["!"]`), /parameter "fast_flush_domains": "!" without a pattern/);
  // A table file that does not exist yet only warns; its lookups answer 458 until it does.
  const warnings: string[] = [];
  const flush = new FlushService(
    parseConfig(`fast_flush_domains = ["hash:/nonexistent/facteur-flush"]\n`),
    { queue: failingQueue(), openTable, warn: (t) => warnings.push(t) },
  );
  assert.match(warnings[0], /^warning: fast_flush_domains: .*No such file or directory/);
  const refused = await flush.flushDomain("backup.example");
  assert.ok(typeof refused !== "number");
  assert.equal(`${refused.code} ${refused.message}`, "458 Unable to queue messages");
});
