/** cleanup into the real SQLite queue: what was acknowledged can be read back. */
import assert from "node:assert/strict";
import { cleanup } from "../../src/cleanup/mod.ts";
import { openQueue } from "../../src/queue/mod.ts";
import { bytes, concatBytes, SETTINGS } from "./helpers.ts";

Deno.test("cleanup commits envelope and fixed-up content to the queue in one step", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "facteur-cleanup-test-" });
  const queue = openQueue(dir);
  try {
    const body = new Uint8Array([0xff, 0x00, 0x0d, 0x0a]);
    const content = concatBytes(bytes("Subject: hello\r\n\r\n"), body);
    const id = await cleanup({
      envelope: {
        sender: "alice@example.com",
        recipients: [{ address: "bob@example.net", notify: ["FAILURE"] }],
        arrivalTime: Date.now(),
        bodyType: "8BITMIME",
      },
      content,
      client: { address: "127.0.0.1", helo: "client.test" },
      protocol: "ESMTPS",
    }, { config: SETTINGS, queue });
    assert.match(id, /^[0-9A-Z]{12}$/);

    const msg = await queue.get(id);
    assert.equal(msg?.queue, "incoming");
    assert.equal(msg?.envelope.bodyType, "8BITMIME");
    assert.deepEqual(msg?.envelope.client, {
      address: "127.0.0.1",
      helo: "client.test",
      protocol: "ESMTPS",
    });
    assert.deepEqual(msg?.envelope.recipients[0].notify, ["FAILURE"]);
    const stored = await queue.content(id);
    const text = new TextDecoder().decode(stored.subarray(0, stored.length - body.length));
    assert.match(
      text,
      new RegExp(
        `^Received: from client\\.test \\(unknown \\[127\\.0\\.0\\.1\\]\\)\\r\\n` +
          `\\tby mx\\.example\\.org \\(facteur\\) with ESMTPS id ${id}\\r\\n\\tfor <bob@example\\.net>; `,
      ),
    );
    assert.match(text, new RegExp(`\\r\\nMessage-ID: <\\d{14}\\.${id}@mx\\.example\\.org>\\r\\n`));
    assert.match(text, /\r\nDate: \w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}\r\n/);
    assert.deepEqual(stored.subarray(stored.length - body.length), body);
  } finally {
    await queue.close();
    Deno.removeSync(dir, { recursive: true });
  }
});
