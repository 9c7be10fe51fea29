import assert from "node:assert/strict";
import { EndOfInputError, type Line, LineReader } from "../../src/net/line_reader.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const show = (l: Line | null) => l && { text: dec(l.bytes), ending: l.ending, tooLong: l.tooLong };

/** A reader fed with `chunks` one at a time, then ended. */
function fed(...chunks: string[]): LineReader {
  const r = new LineReader();
  for (const c of chunks) r.push(enc(c));
  r.end();
  return r;
}

Deno.test("lines keep the terminator that ended them: CRLF, bare LF, none at EOF", async () => {
  const r = fed("one\r\ntwo\nthree\r\r\nfour");
  assert.deepEqual(show(await r.readLine(100)), { text: "one", ending: "crlf", tooLong: false });
  assert.deepEqual(show(await r.readLine(100)), { text: "two", ending: "lf", tooLong: false });
  // A bare CR is data: only the CR right before LF belongs to the terminator.
  assert.deepEqual(show(await r.readLine(100)), {
    text: "three\r",
    ending: "crlf",
    tooLong: false,
  });
  assert.deepEqual(show(await r.readLine(100)), { text: "four", ending: "none", tooLong: false });
  assert.equal(await r.readLine(100), null);
});

Deno.test("a CR at the end of one chunk and LF at the start of the next make CRLF", async () => {
  const r = new LineReader();
  const pending = r.readLine(100);
  r.push(enc("abc\r"));
  await new Promise((res) => setTimeout(res, 0));
  r.push(enc("\nrest"));
  assert.deepEqual(show(await pending), { text: "abc", ending: "crlf", tooLong: false });
});

Deno.test("bytes are not decoded: invalid UTF-8 and NUL come back as sent", async () => {
  const r = new LineReader();
  r.push(new Uint8Array([0x4d, 0xff, 0x00, 0xc3, 0x0d, 0x0a]));
  const line = await r.readLine(100);
  assert.deepEqual([...line!.bytes], [0x4d, 0xff, 0x00, 0xc3]);
});

Deno.test("an over-long line is reported once and skipped through its end (discard)", async () => {
  const r = fed("x".repeat(30) + "\r\nnext\r\n");
  const long = await r.readLine(10);
  assert.deepEqual(show(long), { text: "x".repeat(10), ending: "crlf", tooLong: true });
  assert.deepEqual(show(await r.readLine(10)), { text: "next", ending: "crlf", tooLong: false });
});

Deno.test("discarding an endless line does not buffer it, across many chunks", async () => {
  const r = new LineReader();
  const pending = r.readLine(8);
  for (let i = 0; i < 200; i++) {
    r.push(enc("y".repeat(1000)));
    await new Promise((res) => setTimeout(res, 0));
    assert.ok(r.buffered < 2000, `buffered ${r.buffered}`);
  }
  r.push(enc("y\r"));
  await new Promise((res) => setTimeout(res, 0));
  r.push(enc("\nok\n"));
  assert.deepEqual(show(await pending), { text: "y".repeat(8), ending: "crlf", tooLong: true });
  assert.deepEqual(show(await r.readLine(8)), { text: "ok", ending: "lf", tooLong: false });
});

Deno.test("a line of exactly maxLength is not too long, also when its CR arrives first", async () => {
  const r = new LineReader();
  const pending = r.readLine(5);
  r.push(enc("12345\r"));
  await new Promise((res) => setTimeout(res, 0));
  r.push(enc("\n"));
  assert.deepEqual(show(await pending), { text: "12345", ending: "crlf", tooLong: false });
});

Deno.test("split mode returns long lines in pieces and never cuts between CR and LF", async () => {
  const r = fed("abcdefghij\r\n" + "1234\r\n");
  const pieces: ReturnType<typeof show>[] = [];
  for (let l = await r.readLine(4, "split"); l; l = await r.readLine(4, "split")) {
    pieces.push(show(l));
  }
  assert.deepEqual(pieces, [
    { text: "abcd", ending: "none", tooLong: true },
    { text: "efgh", ending: "none", tooLong: true },
    { text: "ij", ending: "crlf", tooLong: false },
    { text: "1234", ending: "crlf", tooLong: false },
  ]);
  const cr = fed("abc\rdef\r\n");
  assert.deepEqual(show(await cr.readLine(4, "split")), {
    text: "abc",
    ending: "none",
    tooLong: true,
  });
  assert.deepEqual(show(await cr.readLine(4, "split")), {
    text: "\rdef",
    ending: "crlf",
    tooLong: false,
  });
});

Deno.test("readBytes and skipBytes count exact bytes across chunks", async () => {
  const r = new LineReader();
  const pending = r.readBytes(7);
  r.push(enc("ab\r\n"));
  await new Promise((res) => setTimeout(res, 0));
  r.push(enc(".\nCDEFG\r\n"));
  assert.equal(dec(await pending), "ab\r\n.\nC");
  await r.skipBytes(3);
  assert.deepEqual(show(await r.readLine(10)), { text: "G", ending: "crlf", tooLong: false });
});

Deno.test("a counted read cut short by the end of input fails with EndOfInputError", async () => {
  const r = fed("abc");
  await assert.rejects(r.readBytes(5), EndOfInputError);
  await assert.rejects(fed("abc").skipBytes(4), EndOfInputError);
});

Deno.test("fail() rejects a waiting read with that error", async () => {
  const r = new LineReader();
  const pending = r.readLine(10);
  r.fail(new Error("boom"));
  await assert.rejects(pending, /boom/);
});

Deno.test("backpressure: pause above the high-water mark, resume when the reader needs more", async () => {
  const events: string[] = [];
  const r = new LineReader({
    highWaterMark: 100,
    onPause: () => events.push("pause"),
    onResume: () => events.push("resume"),
  });
  r.push(enc("x".repeat(60) + "\n"));
  assert.deepEqual(events, []);
  r.push(enc("y".repeat(60) + "\n"));
  assert.deepEqual(events, ["pause"]);
  await r.readLine(100);
  assert.deepEqual(events, ["pause"], "122 - 61 bytes is still above half the mark");
  await r.readLine(100);
  assert.deepEqual(events, ["pause", "resume"]);
  // Waiting with a paused source resumes it, or the read would wait forever.
  r.push(enc("z".repeat(150)));
  assert.deepEqual(events, ["pause", "resume", "pause"]);
  const pending = r.readBytes(200);
  await new Promise((res) => setTimeout(res, 0));
  assert.deepEqual(events, ["pause", "resume", "pause", "resume"]);
  r.push(enc("w".repeat(50)));
  assert.equal((await pending).length, 200);
});

Deno.test("hasLine and discardBuffered see what is waiting", async () => {
  const r = new LineReader();
  r.push(enc("STARTTLS\r\nINJECTED"));
  assert.ok(r.hasLine());
  await r.readLine(100);
  assert.ok(!r.hasLine());
  assert.equal(r.discardBuffered(), 8);
  assert.equal(r.buffered, 0);
});
