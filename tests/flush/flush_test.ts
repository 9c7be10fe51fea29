/** flush(8): fast_flush_domains decides what ETRN may flush; eligible mail becomes due. */
import assert from "node:assert/strict";
import { parseConfig } from "../../src/config/mod.ts";
import { MailError } from "../../src/errors.ts";
import { FlushService } from "../../src/flush/mod.ts";
import { openMap } from "../../src/maps/mod.ts";
import { newQueueId, openQueue } from "../../src/queue/mod.ts";
import { removeDir, sampleEnvelope, tempDataDir } from "../queue/helpers.ts";

const openTable = (spec: string) => openMap(spec);

Deno.test("fast_flush_domains defaults to relay_domains, with subdomains (parent_domain_matches_subdomains)", async () => {
  const config = parseConfig(`relay_domains = ["relay.example"]`);
  const dir = tempDataDir();
  const queue = openQueue(dir);
  try {
    const flush = new FlushService(config, { queue, openTable });
    assert.equal(await flush.eligible("relay.example"), true);
    assert.equal(await flush.eligible("sub.relay.example"), true);
    assert.equal(await flush.eligible("other.example"), false);
  } finally {
    await queue.close();
    removeDir(dir);
  }
});

Deno.test("ETRN for an eligible domain makes its deferred mail due and kicks the queue manager", async () => {
  const config = parseConfig(`fast_flush_domains = ["backup.example"]`);
  const dir = tempDataDir();
  const queue = openQueue(dir);
  let kicks = 0;
  try {
    const id = newQueueId();
    await queue.enqueue(
      id,
      sampleEnvelope({ recipients: [{ address: "u@backup.example" }] }),
      new Uint8Array([120]),
    );
    await queue.claimDue(Date.now(), 10);
    await queue.recordAttempt(id, [{
      index: 0,
      status: "deferred",
      dsn: "4.4.1",
      reason: "refused",
    }], Date.now() + 3_600_000);
    const flush = new FlushService(config, { queue, openTable, kick: () => kicks++ });

    const refused = await flush.etrn("elsewhere.example");
    assert.ok(refused instanceof MailError);
    assert.equal(
      `${refused.code} ${refused.message}`,
      "459 <elsewhere.example>: service unavailable",
    );
    assert.equal(kicks, 0);

    assert.equal(await flush.etrn("backup.example"), undefined);
    assert.equal(kicks, 1);
    assert.deepEqual((await queue.claimDue(Date.now(), 10)).map((m) => m.id), [id]);

    await queue.close();
    const failed = await flush.etrn("backup.example");
    assert.equal(failed && `${failed.code} ${failed.message}`, "458 Unable to queue messages");
  } finally {
    await queue.close();
    removeDir(dir);
  }
});
