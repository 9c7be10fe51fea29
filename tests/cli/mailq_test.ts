/** The mailq table (Postfix showq layout) and the postqueue -j lines. */
import assert from "node:assert/strict";
import { arrivalText, formatMailq, formatMailqJson } from "../../src/cli/mailq.ts";
import type { QueuedMessage, QueuedRecipient } from "../../src/queue/types.ts";

// Local time, as mailq prints it: built from local components so any TZ gives the same text.
const ARRIVAL = new Date(2026, 10, 3, 7, 5, 9).getTime();

function message(
  id: string,
  queue: QueuedMessage["queue"],
  size: number,
  sender: string,
  recipients: Partial<QueuedRecipient>[],
): QueuedMessage {
  return {
    id,
    queue,
    size,
    attempts: 1,
    nextAttempt: 0,
    envelope: {
      sender,
      arrivalTime: ARRIVAL,
      recipients: recipients.map((r, index) => ({
        index,
        address: "",
        status: "deferred",
        attempts: 1,
        ...r,
      })),
    },
  };
}

Deno.test("arrival time is asctime without the year, day padded with a space", () => {
  assert.equal(arrivalText(ARRIVAL), "Tue Nov  3 07:05:09 ");
});

Deno.test("an empty queue says so", () => {
  assert.equal(formatMailq([]), "Mail queue is empty\n");
  assert.equal(formatMailqJson([]), "");
});

Deno.test("the table: marks for active and held, reasons printed once per change, done recipients left out", () => {
  const refused = "connect to 127.0.0.1[127.0.0.1]:1: Connection refused";
  const text = formatMailq([
    message("4B2F9C0D1E", "deferred", 1536, "alice@example.test", [
      { address: "bob@remote.test", reason: refused },
      { address: "carol@remote.test", reason: refused },
      { address: "dave@remote.test", status: "sent", reason: "250 ok" },
      { address: "erin@other.test", reason: "host said: 451 try\tlater" },
    ]),
    message("5C3A0D1E2F", "active", 600, "", [{ address: "x@a.test", status: "pending" }]),
    message("6D4B1E2F3A", "hold", 10, "b@c.test", [{ address: "y@a.test", status: "pending" }]),
  ]);
  const pad41 = " ".repeat(41);
  const reason = (r: string) => `${" ".repeat(76 - r.length)}(${r})`;
  assert.equal(
    text,
    [
      "-Queue ID- --Size-- ----Arrival Time---- -Sender/Recipient-------",
      "4B2F9C0D1E     1536 Tue Nov  3 07:05:09  alice@example.test",
      reason(refused),
      `${pad41}bob@remote.test`,
      `${pad41}carol@remote.test`,
      reason("host said: 451 try?later"),
      `${pad41}erin@other.test`,
      "",
      "5C3A0D1E2F*     600 Tue Nov  3 07:05:09  MAILER-DAEMON",
      `${pad41}x@a.test`,
      "",
      "6D4B1E2F3A!      10 Tue Nov  3 07:05:09  b@c.test",
      `${pad41}y@a.test`,
      "",
      "-- 2 Kbytes in 3 Requests.",
      "",
    ].join("\n"),
  );
});

Deno.test("one request is singular; a reason longer than the line is not padded", () => {
  const long = "x".repeat(90);
  const text = formatMailq([
    message("ABCDEF1234", "deferred", 100, "a@b.test", [{ address: "c@d.test", reason: long }]),
  ]);
  assert.match(text, new RegExp(`\\n\\(${long}\\)\\n`));
  assert.ok(text.endsWith("\n-- 0 Kbytes in 1 Request.\n"));
});

Deno.test("JSON: postqueue -j fields, one line per message", () => {
  const lines = formatMailqJson([
    message("4B2F9C0D1E", "deferred", 1536, "alice@example.test", [
      { address: "bob@remote.test", reason: "refused" },
      { address: "dave@remote.test", status: "bounced" },
      { address: "erin@remote.test", status: "pending" },
    ]),
  ]).split("\n");
  assert.equal(lines.length, 2);
  assert.equal(lines[1], "");
  assert.deepEqual(JSON.parse(lines[0]), {
    queue_name: "deferred",
    queue_id: "4B2F9C0D1E",
    arrival_time: Math.floor(ARRIVAL / 1000),
    message_size: 1536,
    sender: "alice@example.test",
    recipients: [
      { address: "bob@remote.test", delay_reason: "refused" },
      { address: "erin@remote.test" },
    ],
  });
});
