/**
 * The two ways `facteur queue` works: on the database directly (server
 * stopped, or no admin API) and through the admin API. Same JSON shapes.
 */
import assert from "node:assert/strict";
import {
  ApiBackend,
  appliesToAll,
  checkFilter,
  DirectBackend,
  FilterError,
} from "../../src/cli/queue_backend.ts";
import { AdminClient } from "../../src/cli/admin_client.ts";
import { formatShow, fromSummary } from "../../src/cli/queue_show.ts";
import { formatMailq } from "../../src/cli/mailq.ts";
import { newQueueId, openQueue } from "../../src/queue/mod.ts";
import type { QueueStore } from "../../src/queue/types.ts";

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const MIN = 60_000;
const enc = (s: string) => new TextEncoder().encode(s);

async function withQueue(fn: (q: QueueStore, ids: string[]) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "facteur-qb-" });
  const q = openQueue(dir);
  try {
    const ids: string[] = [];
    const add = async (sender: string, rcpts: string[], ageMin: number, body: string) => {
      const id = newQueueId();
      await q.enqueue(id, {
        sender,
        recipients: rcpts.map((address) => ({ address })),
        arrivalTime: NOW - ageMin * MIN,
        ret: "HDRS",
      }, enc(body));
      ids.push(id);
    };
    await add(
      "alice@example.test",
      ["bob@remote.test", "carol@other.test"],
      2,
      "Subject: one\r\n\r\n1\r\n",
    );
    await add("", ["dave@remote.test"], 90, "Subject: bounce\r\n\r\n2\r\n");
    await add("Eve@Example.test", ["frank@third.test"], 3000, "Subject: three\r\n\r\n3\r\n");
    await q.hold(ids[2]);
    await fn(q, ids);
  } finally {
    await q.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("direct: list filters (queue, sender incl. null sender, recipient, domain, ages)", async () => {
  await withQueue(async (q, ids) => {
    const b = new DirectBackend(q, () => Promise.resolve(0), () => NOW);
    const list = async (f: Parameters<typeof b.list>[0]) => (await b.list(f)).map((s) => s.id);
    assert.deepEqual(await list({}), [ids[2], ids[1], ids[0]]); // oldest first
    assert.deepEqual(await list({ queue: "hold" }), [ids[2]]);
    assert.deepEqual(await list({ sender: "" }), [ids[1]]);
    assert.deepEqual(await list({ sender: "eve@example.TEST" }), [ids[2]]);
    assert.deepEqual(await list({ recipient: "CAROL@other.test" }), [ids[0]]);
    assert.deepEqual(await list({ domain: "remote.test" }), [ids[1], ids[0]]);
    assert.deepEqual(await list({ minAge: "1h" }), [ids[2], ids[1]]);
    assert.deepEqual(await list({ maxAge: "5m" }), [ids[0]]);
    assert.deepEqual(await list({ minAge: "10m", maxAge: "2h" }), [ids[1]]);
  });
});

Deno.test("direct: show gives the API's detail; raw gives the stored bytes; unknown ids are undefined", async () => {
  await withQueue(async (q, ids) => {
    const b = new DirectBackend(q, () => Promise.resolve(0), () => NOW);
    const d = await b.show(ids[0]);
    assert.ok(d);
    assert.equal(d.sender, "alice@example.test");
    assert.equal(d.arrival_time, new Date(NOW - 2 * MIN).toISOString());
    assert.equal(d.envelope.ret, "HDRS");
    assert.deepEqual(d.envelope.recipients.map((r) => [r.address, r.status]), [
      ["bob@remote.test", "pending"],
      ["carol@other.test", "pending"],
    ]);
    const text = formatShow(d);
    assert.match(text, new RegExp(`^id: +${ids[0]} \\(incoming queue\\)$`, "m"));
    assert.match(text, /^sender: +alice@example\.test$/m);
    assert.match(text, /^dsn ret: +HDRS$/m);
    assert.match(
      text,
      /^recipients: 2\n {2}pending {2}bob@remote\.test\n {2}pending {2}carol@other\.test\n$/m,
    );
    assert.equal(new TextDecoder().decode(await b.raw(ids[1])), "Subject: bounce\r\n\r\n2\r\n");
    assert.equal(await b.show("NOSUCHID"), undefined);
    assert.equal(await b.raw("NOSUCHID"), undefined);
    assert.match(formatShow((await b.show(ids[1]))!), /^sender: +<> \(null sender\)$/m);
  });
});

Deno.test("direct: actions say why a message was left alone; actMany skips what does not apply", async () => {
  await withQueue(async (q, ids) => {
    const b = new DirectBackend(q, () => Promise.resolve(0), () => NOW);
    assert.deepEqual(await b.act("release", ids[0]), {
      changed: false,
      notFound: false,
      why: `${ids[0]} is not on hold`,
    });
    assert.deepEqual(await b.act("requeue", ids[2]), {
      changed: false,
      notFound: false,
      why: `${ids[2]} is on hold (release it first)`,
    });
    assert.deepEqual(await b.act("hold", "NOSUCHID"), { changed: false, notFound: true });
    assert.deepEqual(await b.act("hold", ids[0]), { changed: true });
    assert.equal(await b.actMany("release", [ids[0], ids[1], ids[2], "NOSUCHID"]), 2);
    assert.equal(await b.actMany("delete", ids), 3);
    assert.deepEqual(await b.list({}), []);
  });
});

Deno.test("direct: shape over the queue's messages; the mailq listing from summaries", async () => {
  await withQueue(async (q, ids) => {
    const b = new DirectBackend(q, () => Promise.resolve(0), () => NOW);
    const shape = await b.shape();
    assert.deepEqual(shape.rows.map((r) => [r.domain, r.total]), [
      ["remote.test", 2],
      ["other.test", 1],
      ["third.test", 1],
    ]);
    assert.deepEqual(shape.total.counts, [2, 0, 0, 0, 0, 1, 0, 0, 0, 1]);
    assert.deepEqual((await b.shape("hold")).rows.map((r) => r.domain), ["third.test"]);
    const listing = formatMailq((await b.list({})).map(fromSummary));
    assert.match(listing, new RegExp(`^${ids[2]}!\\s+\\d+ `, "m"));
    assert.match(listing, /^\s+bob@remote\.test$/m);
    assert.match(listing, /-- 0 Kbytes in 3 Requests\.\n$/);
  });
});

Deno.test("filters are checked before anything runs; ALL applies like postsuper", () => {
  assert.throws(() => checkFilter({ queue: "nope" as "hold" }), FilterError);
  assert.throws(() => checkFilter({ minAge: "soon" }), /--min-age: bad age "soon"/);
  checkFilter({ queue: "deferred", minAge: "5m", maxAge: "2d" });
  assert.equal(appliesToAll("hold", "hold"), false);
  assert.equal(appliesToAll("release", "deferred"), false);
  assert.equal(appliesToAll("requeue", "active"), false);
  assert.equal(appliesToAll("delete", "corrupt"), true);
});

Deno.test("api: the right routes and bodies; 404 and 409 become outcomes; cursor pages are followed", async () => {
  const seen: string[] = [];
  const ac = new AbortController();
  const summary = (id: string) => ({
    id,
    queue: "deferred",
    sender: "a@x.test",
    arrival_time: "2026-11-23T10:00:00.000Z",
    size: 10,
    attempts: 1,
    next_attempt: null,
    recipients: [{ address: "b@y.test", status: "deferred", reason: "later" }],
  });
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    signal: ac.signal,
    onListen: () => {},
  }, async (req) => {
    const url = new URL(req.url);
    const body = req.method === "GET" || req.method === "DELETE" ? "" : await req.text();
    seen.push(`${req.method} ${url.pathname}${url.search} ${body}`.trim());
    if (url.pathname === "/v1/queue") {
      return url.searchParams.get("cursor") === "p2"
        ? Response.json({ messages: [summary("B")], next_cursor: null })
        : Response.json({ messages: [summary("A")], next_cursor: "p2" });
    }
    if (url.pathname === "/v1/queue/GONE/hold") {
      return Response.json({ error: { code: "not_found", message: "no message with id GONE" } }, {
        status: 404,
      });
    }
    if (url.pathname === "/v1/queue/A/release") {
      return Response.json({ error: { code: "conflict", message: "A is not on hold" } }, {
        status: 409,
      });
    }
    if (url.pathname === "/v1/queue/hold") return Response.json({ matched: 2, changed: 1 });
    if (url.pathname === "/v1/queue/flush") return Response.json({ due: 3 });
    return Response.json({ deleted: 1, changed: 1 });
  });
  try {
    const b = new ApiBackend(new AdminClient(`http://127.0.0.1:${server.addr.port}`, "t"));
    assert.deepEqual((await b.list({ queue: "deferred", minAge: "5m" })).map((s) => s.id), [
      "A",
      "B",
    ]);
    assert.deepEqual(await b.act("hold", "GONE"), { changed: false, notFound: true });
    assert.deepEqual(await b.act("release", "A"), {
      changed: false,
      notFound: false,
      why: "A is not on hold",
    });
    assert.deepEqual(await b.act("delete", "A"), { changed: true });
    assert.equal(await b.actMany("hold", ["A", "B"]), 1);
    assert.equal(await b.flush("remote.test"), 3);
    assert.deepEqual(seen, [
      "GET /v1/queue?queue=deferred&min_age=5m&limit=1000",
      "GET /v1/queue?queue=deferred&min_age=5m&limit=1000&cursor=p2",
      "POST /v1/queue/GONE/hold {}",
      "POST /v1/queue/A/release {}",
      "DELETE /v1/queue/A",
      'POST /v1/queue/hold {"ids":["A","B"]}',
      'POST /v1/queue/flush {"domain":"remote.test"}',
    ]);
  } finally {
    ac.abort();
    await server.finished;
  }
});
