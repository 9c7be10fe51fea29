// The durability contract: kill -9 the server while clients stream messages;
// after a restart, every message that got its 250 is delivered exactly once.
import assert from "node:assert/strict";
import { RawClient } from "../smtpd/helpers.ts";
import { eventually, mailbox, maildirMessages, startServer } from "./harness.ts";

const SESSIONS = 4;
const MAX_PER_SESSION = 400;

/** Sends numbered messages until the connection breaks; returns the numbers acknowledged. */
async function stream(port: number, session: number, acked: number[], stop: () => boolean) {
  let client: RawClient | undefined;
  try {
    client = (await RawClient.open(port)).client;
    await client.command("EHLO crash.test");
    for (let i = 0; i < MAX_PER_SESSION && !stop(); i++) {
      const n = session * MAX_PER_SESSION + i;
      if (!(await client.command("MAIL FROM:<load@crash.test>")).startsWith("250")) break;
      if (!(await client.command("RCPT TO:<alice@example.test>")).startsWith("250")) break;
      if (!(await client.command("DATA")).startsWith("354")) break;
      const reply = await client.command(`Subject: crash ${n}\r\n\r\n${"x".repeat(2000)}\r\n.`);
      if (reply.startsWith("250")) acked.push(n);
    }
  } catch {
    // the server died under us: expected
  } finally {
    client?.close();
  }
}

Deno.test("kill -9 during a stream: every acknowledged message is delivered exactly once", async () => {
  const first = await startServer();
  const acked: number[] = [];
  let killed = false;
  const streams = Array.from(
    { length: SESSIONS },
    (_, s) => stream(first.port, s, acked, () => killed),
  );
  // Let some mail through (and some deliveries happen), then crash mid-stream.
  await eventually(() => Promise.resolve(acked.length >= 60), 30000);
  await first.kill();
  killed = true;
  await Promise.all(streams);
  assert.ok(acked.length >= 60);

  const second = await startServer({ dir: first.dir });
  try {
    const subjects = await eventually(async () => {
      const files = await maildirMessages(mailbox(second, "alice"));
      const seen = files.map((f) =>
        /\nSubject: crash (\d+)\n/.exec(new TextDecoder().decode(f.bytes))?.[1]
      );
      const numbers = seen.filter((s): s is string => s !== undefined).map(Number);
      return acked.every((n) => numbers.includes(n)) ? numbers : undefined;
    }, 30000);
    const counts = new Map<number, number>();
    for (const n of subjects) counts.set(n, (counts.get(n) ?? 0) + 1);
    const duplicates = [...counts].filter(([, c]) => c > 1);
    assert.deepEqual(duplicates, [], "no message is delivered twice");
    for (const n of acked) assert.equal(counts.get(n), 1, `acknowledged message ${n}`);
  } finally {
    await second.stop();
    await Deno.remove(first.dir, { recursive: true });
  }
});
