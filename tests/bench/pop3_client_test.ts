/**
 * The POP3 benchmark's client and mailbox: octets counted as LIST counts them
 * (dot-stuffing undone, CRLF kept), whatever the read boundaries; the
 * generated mailbox is the same on every run and within its size range.
 */
import assert from "node:assert/strict";
import { Pop3Reader, scanListing } from "../../scripts/bench/pop3_client.ts";
import {
  benchMessage,
  MAX_SIZE,
  MIN_SIZE,
  seededRandom,
} from "../../scripts/bench/pop3_mailbox.ts";

/** A reader over `text` delivered `chunk` bytes at a time. */
function readerOf(text: string, chunk: number): Pop3Reader {
  const bytes = new TextEncoder().encode(text);
  let at = 0;
  return new Pop3Reader((into) => {
    if (at >= bytes.length) return Promise.resolve(null);
    const n = Math.min(chunk, into.length, bytes.length - at);
    into.set(bytes.subarray(at, at + n));
    at += n;
    return Promise.resolve(n);
  });
}

Deno.test("bodyOctets undoes dot-stuffing and stops at the terminating dot", async () => {
  const message = "Subject: x\r\n\r\n.hidden dot\r\nplain\r\n..two\r\n";
  const stuffed = message.replace(/^\./gm, "..");
  for (const chunk of [1, 2, 3, 7, 1024]) {
    const reader = readerOf(`+OK\r\n${stuffed}.\r\n+OK bye\r\n`, chunk);
    assert.equal(await reader.line(), "+OK");
    assert.equal(await reader.bodyOctets(), message.length, `chunk ${chunk}`);
    assert.equal(await reader.line(), "+OK bye");
  }
});

Deno.test("bodyOctets of an empty body is 0; a closed connection is an error", async () => {
  assert.equal(await readerOf(".\r\n", 5).bodyOctets(), 0);
  await assert.rejects(readerOf("line\r\n", 5).bodyOctets(), /connection closed/);
});

Deno.test("scanListing takes the second fields and rejects numbering gaps", async () => {
  const reader = readerOf("1 120\r\n2 4500\r\n.\r\n", 4);
  assert.deepEqual(scanListing("LIST", await reader.lines()), ["120", "4500"]);
  assert.throws(() => scanListing("UIDL", ["1 a", "3 b"]), /UIDL: unexpected line "3 b"/);
});

Deno.test("the benchmark mailbox is deterministic, 2–20 KiB, with dot lines", () => {
  const make = () => {
    const random = seededRandom(6);
    return [...Array(50).keys()].map((i) => {
      const size = MIN_SIZE + Math.floor(random() * (MAX_SIZE - MIN_SIZE));
      return benchMessage(i, size, random);
    });
  };
  const a = make();
  assert.deepEqual(a, make());
  for (const m of a) {
    assert.ok(m.length >= MIN_SIZE && m.length <= MAX_SIZE + 200, `${m.length}`);
    assert.ok(!m.includes("\r"));
  }
  assert.ok(a.some((m) => /^\./m.test(m)), "some lines start with a dot");
});
