import assert from "node:assert/strict";
import { join } from "node:path";
import { appendToMbox, asctime, fromLine, mboxEntry } from "../../src/mailstore/mbox.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const date = new Date(2026, 0, 5, 1, 2, 3); // local time, as asctime(localtime())

Deno.test("mbox: asctime and the From_ line", () => {
  assert.equal(asctime(date), "Mon Jan  5 01:02:03 2026");
  assert.equal(fromLine("a@example.org", date), "From a@example.org  Mon Jan  5 01:02:03 2026\n");
  assert.equal(fromLine("", date), "From MAILER-DAEMON  Mon Jan  5 01:02:03 2026\n");
});

Deno.test("mbox: entry has LF lines, mboxrd quoting, final newline and blank line", () => {
  const content = "Subject: x\r\n\r\nFrom here\r\n>From there\r\nnot From\r\n>>From deep\r\nlast";
  assert.equal(
    dec.decode(mboxEntry(enc.encode(content), "s@example.org", date)),
    "From s@example.org  Mon Jan  5 01:02:03 2026\n" +
      "Subject: x\n\n>From here\n>>From there\nnot From\n>>>From deep\nlast\n\n",
  );
});

Deno.test("mbox: messages are appended after each other and the lock is removed", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "alice");
  await appendToMbox(path, enc.encode("A: 1\r\n\r\none\r\n"), { sender: "x@example.org", date });
  await appendToMbox(path, enc.encode("A: 2\r\n\r\ntwo\r\n"), { sender: "", date });
  assert.equal(
    await Deno.readTextFile(path),
    "From x@example.org  Mon Jan  5 01:02:03 2026\nA: 1\n\none\n\n" +
      "From MAILER-DAEMON  Mon Jan  5 01:02:03 2026\nA: 2\n\ntwo\n\n",
  );
  assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  await assert.rejects(Deno.stat(`${path}.lock`), Deno.errors.NotFound);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("mbox: a mailbox that would exceed the size limit is left unchanged (EFBIG)", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "bob");
  const msg = enc.encode("A: 1\r\n\r\nbody\r\n");
  await appendToMbox(path, msg, { sender: "s@x.test", date, sizeLimit: 100 });
  const before = await Deno.readFile(path);
  await assert.rejects(
    appendToMbox(path, msg, { sender: "s@x.test", date, sizeLimit: 100 }),
    (e: unknown) => (e as { code?: string }).code === "EFBIG",
  );
  assert.deepEqual(await Deno.readFile(path), before);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("mbox: a held dot-lock makes delivery wait, then fail with EAGAIN", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "carol");
  await Deno.writeTextFile(`${path}.lock`, "123\n");
  const started = Date.now();
  await assert.rejects(
    appendToMbox(path, enc.encode("A: 1\r\n\r\nx\r\n"), {
      sender: "s@x.test",
      lockTimeoutMs: 200,
      lockRetryMs: 20,
    }),
    (e: unknown) => (e as { code?: string }).code === "EAGAIN",
  );
  assert.ok(Date.now() - started >= 200);
  assert.equal(await Deno.readTextFile(`${path}.lock`), "123\n", "someone else's lock stays");
  await assert.rejects(Deno.stat(path), Deno.errors.NotFound);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("mbox: a stale dot-lock is removed", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "dave");
  await Deno.writeTextFile(`${path}.lock`, "123\n");
  const old = new Date(Date.now() - 10_000);
  await Deno.utime(`${path}.lock`, old, old);
  await appendToMbox(path, enc.encode("A: 1\r\n\r\nx\r\n"), {
    sender: "s@x.test",
    date,
    staleLockMs: 5_000,
    lockTimeoutMs: 100,
  });
  assert.match(await Deno.readTextFile(path), /^From s@x\.test {2}/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("mbox: a symbolic link or directory is not a mailbox", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(join(dir, "target"), "keep\n");
  await Deno.symlink(join(dir, "target"), join(dir, "eve"));
  await assert.rejects(
    appendToMbox(join(dir, "eve"), enc.encode("A: 1\r\n\r\nx\r\n"), { sender: "s@x.test" }),
    (e: unknown) => (e as { code?: string }).code === "ENOTREG",
  );
  assert.equal(await Deno.readTextFile(join(dir, "target")), "keep\n");
  await Deno.mkdir(join(dir, "frank"));
  await assert.rejects(
    appendToMbox(join(dir, "frank"), enc.encode("A: 1\r\n\r\nx\r\n"), { sender: "s@x.test" }),
    (e: unknown) => (e as { code?: string }).code === "ENOTREG",
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("mbox: concurrent appends do not interleave", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "gina");
  const body = (n: number) => enc.encode(`N: ${n}\r\n\r\n${"z".repeat(100_000)}\r\n`);
  await Promise.all(
    [1, 2, 3, 4, 5].map((n) =>
      appendToMbox(path, body(n), { sender: "s@x.test", date, lockRetryMs: 5 })
    ),
  );
  const text = await Deno.readTextFile(path);
  const entries = text.split(/^From s@x\.test {2}.*\n/m).slice(1);
  assert.equal(entries.length, 5);
  for (const e of entries) assert.match(e, /^N: \d\n\nz{100000}\n\n$/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("mbox: a write failure half-way truncates the mailbox back (no half message)", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "hank");
  await appendToMbox(path, enc.encode("A: 1\r\n\r\nfirst\r\n"), { sender: "s@x.test", date });
  const before = await Deno.readFile(path);
  const proto = Deno.FsFile.prototype;
  const realWrite = proto.write;
  let partial = 0;
  // The disk fills up after the first 10 bytes of the new message (the dot-lock's pid write passes).
  proto.write = function (this: Deno.FsFile, data: Uint8Array) {
    if (data.length < 20) return realWrite.call(this, data);
    if (partial++ === 0) return realWrite.call(this, data.subarray(0, 10));
    return Promise.reject(Object.assign(new Error("No space left on device"), { code: "ENOSPC" }));
  };
  try {
    await assert.rejects(
      appendToMbox(path, enc.encode("A: 2\r\n\r\nsecond\r\n"), { sender: "s@x.test", date }),
      (e: unknown) => (e as { code?: string }).code === "ENOSPC",
    );
  } finally {
    proto.write = realWrite;
  }
  assert.equal(partial, 2, "the failure came after a partial write");
  assert.deepEqual(await Deno.readFile(path), before);
  await assert.rejects(Deno.stat(`${path}.lock`), Deno.errors.NotFound);
  await Deno.remove(dir, { recursive: true });
});
