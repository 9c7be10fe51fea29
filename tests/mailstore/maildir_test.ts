import assert from "node:assert/strict";
import { join } from "node:path";
import {
  crlfToLf,
  deliverOnceToMaildir,
  deliverToMaildir,
  deliveryName,
  ensureMaildir,
  uniqueName,
} from "../../src/mailstore/maildir.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

async function listDir(path: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(path)) names.push(e.name);
  return names.sort();
}

Deno.test("crlfToLf converts CRLF only", () => {
  assert.equal(dec.decode(crlfToLf(enc.encode("a\r\nb\rc\n\r\n"))), "a\nb\rc\n\n");
});

Deno.test("maildir: creates tmp/new/cur 0700 and writes the message with LF into new/", async () => {
  const base = await Deno.makeTempDir();
  const dir = join(base, "user", "Maildir");
  const path = await deliverToMaildir(dir, enc.encode("Subject: hi\r\n\r\nbody\r\n"), {
    hostname: "mx.example.com",
  });
  assert.equal(dec.decode(await Deno.readFile(path)), "Subject: hi\n\nbody\n");
  assert.deepEqual(await listDir(dir), ["cur", "new", "tmp"]);
  assert.deepEqual(await listDir(join(dir, "tmp")), []);
  assert.deepEqual(await listDir(join(dir, "new")), [path.split("/").pop()!]);
  for (const sub of ["tmp", "new", "cur"]) {
    assert.equal((await Deno.stat(join(dir, sub))).mode! & 0o777, 0o700);
  }
  assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  assert.match(path, /\/new\/\d+\.M\d+P\d+Q\d+R[0-9a-f]+\.mx\.example\.com,S=18$/);
  await Deno.remove(base, { recursive: true });
});

Deno.test("maildir: names are unique and host names are escaped", () => {
  const a = uniqueName(1_700_000_000_123, 10, "odd/host:name");
  const b = uniqueName(1_700_000_000_123, 10, "odd/host:name");
  assert.notEqual(a, b);
  assert.match(a, /^1700000000\.M123000P\d+Q\d+R[0-9a-f]+\.odd\\057host\\072name,S=10$/);
});

Deno.test("maildir: the file appears in new/ only once it is complete", async () => {
  const dir = await Deno.makeTempDir();
  const big = enc.encode("X: " + "y".repeat(4 * 1024 * 1024) + "\r\n\r\nbody\r\n");
  const seen: string[] = [];
  const watching = (async () => {
    // Poll new/ while the delivery runs: any file seen there must be whole.
    for (let i = 0; i < 200; i++) {
      for (const name of await listDir(join(dir, "new")).catch(() => [])) {
        const size = (await Deno.stat(join(dir, "new", name))).size;
        seen.push(`${name}:${size}`);
      }
      await new Promise((r) => setTimeout(r, 0));
    }
  })();
  const path = await deliverToMaildir(dir, big);
  await watching;
  const whole = big.length - 3; // three CRLFs became LFs
  assert.equal((await Deno.stat(path)).size, whole);
  for (const entry of seen) {
    assert.ok(entry.endsWith(`:${whole}`), `partial file in new/: ${entry}`);
  }
  assert.deepEqual(await listDir(join(dir, "tmp")), []);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("maildir: a message over the size limit is refused with EFBIG and leaves nothing", async () => {
  const dir = await Deno.makeTempDir();
  await assert.rejects(
    deliverToMaildir(dir, enc.encode("a: b\r\n\r\n0123456789\r\n"), { sizeLimit: 10 }),
    (e: unknown) => (e as { code?: string }).code === "EFBIG",
  );
  assert.deepEqual(await listDir(dir), []);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("maildir: a failure after writing tmp/ leaves neither tmp/ nor new/ files", async () => {
  const dir = await Deno.makeTempDir();
  const realLink = Deno.link;
  const linked: string[] = [];
  // link(2) fails, as on a file system that refuses hard links.
  (Deno as { link: typeof Deno.link }).link = (from: string) => {
    linked.push(from);
    return Promise.reject(Object.assign(new Error("Operation not permitted"), { code: "EPERM" }));
  };
  try {
    await assert.rejects(
      deliverToMaildir(dir, enc.encode("a: b\r\n\r\nx\r\n")),
      (e: unknown) => (e as { code?: string }).code === "EPERM",
    );
  } finally {
    (Deno as { link: typeof Deno.link }).link = realLink;
  }
  assert.equal(linked.length, 1, "the tmp/ file had been written");
  assert.ok(linked[0].startsWith(join(dir, "tmp") + "/"), linked[0]);
  assert.deepEqual(await listDir(join(dir, "tmp")), []);
  assert.deepEqual(await listDir(join(dir, "new")), []);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("maildir: a file where new/ should be is an error, nothing is written", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(join(dir, "new"), "not a directory");
  await assert.rejects(
    deliverToMaildir(dir, enc.encode("a: b\r\n\r\nx\r\n")),
    (e: unknown) => (e as { code?: string }).code === "ENOTDIR",
  );
  assert.deepEqual(await listDir(join(dir, "tmp")), []);
  await Deno.remove(dir, { recursive: true });
});

Deno.test({
  name: "maildir: as root, created directories and the file belong to the owner",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    const base = await Deno.makeTempDir();
    const dir = join(base, "home", "Maildir");
    await Deno.mkdir(join(base, "home"));
    const path = await deliverToMaildir(dir, enc.encode("a: b\r\n\r\nx\r\n"), {
      owner: { uid: 65534, gid: 65534 },
    });
    for (const p of [dir, join(dir, "new"), join(dir, "tmp"), path]) {
      const st = await Deno.stat(p);
      assert.equal(st.uid, 65534, p);
      assert.equal(st.gid, 65534, p);
    }
    assert.equal(
      (await Deno.stat(join(base, "home"))).uid,
      0,
      "existing directories are left alone",
    );
    await Deno.remove(base, { recursive: true });
  },
});

const ID = { queueId: "MIC3Z1K80F2A", key: "0", arrivalMs: 1_700_000_000_999 };

Deno.test("maildir: a delivery's name comes from the queue id, key and arrival time", () => {
  assert.equal(
    deliveryName(ID, 42, "mx.example.com"),
    "1700000000.QMIC3Z1K80F2AR0.mx.example.com,S=42",
  );
  assert.equal(deliveryName(ID, 42, "h", 45), "1700000000.QMIC3Z1K80F2AR0.h,S=42,W=45");
  assert.equal(
    deliveryName({ ...ID, key: "3-9f86d081884c" }, 7, "odd/host"),
    "1700000000.QMIC3Z1K80F2AR3-9f86d081884c.odd\\057host,S=7",
  );
  for (const bad of [{ queueId: "../x" }, { key: "1R2" }, { key: "" }, { key: "a:b" }]) {
    assert.throws(() => deliveryName({ ...ID, ...bad }, 1, "h"), RangeError);
  }
});

Deno.test("maildir: delivering the same delivery again finds the first copy", async () => {
  const dir = await Deno.makeTempDir();
  const msg = enc.encode("Subject: once\r\n\r\nbody\r\n");
  const first = await deliverOnceToMaildir(dir, msg, ID, { hostname: "h" });
  assert.equal(first.existed, false);
  // ,W= is the size with CRLF (Dovecot's RFC822.SIZE field).
  assert.match(first.path, /\/new\/1700000000\.QMIC3Z1K80F2AR0\.h,S=20,W=23$/);
  const again = await deliverOnceToMaildir(dir, msg, ID, { hostname: "h" });
  assert.deepEqual(again, { path: first.path, existed: true });
  assert.deepEqual(await listDir(join(dir, "new")), [first.path.split("/").pop()!]);
  // Another recipient (key) of the same message is another delivery.
  const other = await deliverOnceToMaildir(dir, msg, { ...ID, key: "1" }, { hostname: "h" });
  assert.equal(other.existed, false);
  assert.equal((await listDir(join(dir, "new"))).length, 2);
  assert.deepEqual(await listDir(join(dir, "tmp")), []);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("maildir: a redelivery also finds the copy a reader moved to cur/ with flags", async () => {
  const dir = await Deno.makeTempDir();
  const msg = enc.encode("a: b\r\n\r\nx\r\n");
  for (const info of [":2,", ":2,S", ":2,FRS", ":2,DFPRST"]) {
    const { path } = await deliverOnceToMaildir(dir, msg, ID, { hostname: "h" });
    const moved = join(dir, "cur", path.split("/").pop()! + info);
    await Deno.rename(path, moved);
    const again = await deliverOnceToMaildir(dir, msg, ID, { hostname: "h", redelivery: true });
    assert.deepEqual(again, { path: moved, existed: true }, info);
    assert.deepEqual(await listDir(join(dir, "new")), [], info);
    await Deno.remove(moved);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("maildir: without the redelivery hint only new/ is looked at (one lstat)", async () => {
  const dir = await Deno.makeTempDir();
  const msg = enc.encode("a: b\r\n\r\nx\r\n");
  const { path } = await deliverOnceToMaildir(dir, msg, ID, { hostname: "h" });
  await Deno.rename(path, join(dir, "cur", path.split("/").pop()! + ":2,S"));
  // A first attempt cannot have a copy in cur/: the caller says when it might.
  const again = await deliverOnceToMaildir(dir, msg, ID, { hostname: "h" });
  assert.equal(again.existed, false);
  assert.equal((await listDir(join(dir, "new"))).length, 1);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("maildir: leftovers of an interrupted attempt in tmp/ are replaced or removed", async () => {
  const dir = await Deno.makeTempDir();
  const msg = enc.encode("a: b\r\n\r\nwhole\r\n");
  const name = deliveryName(ID, 12, "h", 15);
  await ensureMaildir(dir);
  // Died while writing tmp/: the next attempt writes the whole message.
  await Deno.writeTextFile(join(dir, "tmp", name), "a: b\n\nwh");
  const { path } = await deliverOnceToMaildir(dir, msg, ID, { hostname: "h" });
  assert.equal(dec.decode(await Deno.readFile(path)), "a: b\n\nwhole\n");
  assert.deepEqual(await listDir(join(dir, "tmp")), []);
  // Died between link into new/ and unlink of tmp/: found, and tmp/ is cleaned.
  await Deno.link(path, join(dir, "tmp", name));
  const again = await deliverOnceToMaildir(dir, msg, ID, { hostname: "h" });
  assert.deepEqual(again, { path, existed: true });
  assert.deepEqual(await listDir(join(dir, "tmp")), []);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("maildir: the size limit applies to repeated deliveries too", async () => {
  const dir = await Deno.makeTempDir();
  await assert.rejects(
    deliverOnceToMaildir(dir, enc.encode("a: b\r\n\r\n0123456789\r\n"), ID, { sizeLimit: 10 }),
    (e: unknown) => (e as { code?: string }).code === "EFBIG",
  );
  assert.deepEqual(await listDir(dir), []);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("maildir: a Maildir removed between deliveries is made again", async () => {
  const dir = await Deno.makeTempDir();
  const box = join(dir, "Maildir");
  const msg = enc.encode("a: b\r\n\r\nx\r\n");
  await deliverToMaildir(box, msg, { hostname: "h" });
  await Deno.remove(box, { recursive: true }); // an administrator cleans up
  const path = await deliverToMaildir(box, msg, { hostname: "h" });
  assert.equal(dec.decode(await Deno.readFile(path)), "a: b\n\nx\n");
  await Deno.remove(join(box, "new"), { recursive: true });
  const again = await deliverOnceToMaildir(box, msg, ID, { hostname: "h" });
  assert.equal(again.existed, false);
  assert.deepEqual(await listDir(box), ["cur", "new", "tmp"]);
  await Deno.remove(dir, { recursive: true });
});
