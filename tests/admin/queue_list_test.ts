import assert from "node:assert/strict";
import { adminApp } from "../../src/admin/mod.ts";
import type { QueueStore } from "../../src/queue/mod.ts";
import { assertError, defer, type Harness, MINUTE, okJson, T0, withHarness } from "./helpers.ts";

interface Listing {
  messages: { id: string }[];
  next_cursor: string | null;
}

async function ids(h: Harness, query: string): Promise<string[]> {
  const body = await okJson(await h.call(`/v1/queue${query}`)) as Listing;
  return body.messages.map((m) => m.id);
}

/** m1..m4, oldest first: m2 from <>, m4 held. */
async function seed(h: Harness) {
  const m1 = await h.enqueue(["bob@example.net"], { ageMs: 180 * MINUTE });
  const m2 = await h.enqueue(["carol@Example.ORG", "dave@example.net"], {
    sender: "",
    ageMs: 120 * MINUTE,
  });
  const m3 = await h.enqueue(["erin@example.org"], { sender: "BOB@x.test", ageMs: 30 * MINUTE });
  const m4 = await h.enqueue(["frank@other.test"], { ageMs: MINUTE });
  await h.queue.hold(m4);
  return { m1, m2, m3, m4 };
}

Deno.test("GET /v1/queue lists summaries oldest first", async () => {
  await withHarness(async (h) => {
    const { m1, m2, m3, m4 } = await seed(h);
    await defer(h, m1);
    const body = await okJson(await h.call("/v1/queue")) as Listing;
    assert.deepEqual(body.messages.map((m) => m.id), [m1, m2, m3, m4]);
    assert.equal(body.next_cursor, null);
    assert.deepEqual(body.messages[0], {
      id: m1,
      queue: "deferred",
      sender: "alice@example.org",
      arrival_time: new Date(T0 - 180 * MINUTE).toISOString(),
      size: 24,
      attempts: 1,
      next_attempt: new Date(T0 + 10 * MINUTE).toISOString(),
      recipients: [{
        address: "bob@example.net",
        status: "deferred",
        dsn: "4.4.1",
        reason: "connect to mx: Connection refused",
      }],
    });
    assert.deepEqual(body.messages[3], {
      id: m4,
      queue: "hold",
      sender: "alice@example.org",
      arrival_time: "2027-01-15T07:59:00.000Z",
      size: 24,
      attempts: 0,
      next_attempt: null,
      recipients: [{ address: "frank@other.test", status: "pending" }],
    });
  });
});

Deno.test("GET /v1/queue filters by queue, sender, recipient, domain and age", async () => {
  await withHarness(async (h) => {
    const { m1, m2, m3, m4 } = await seed(h);
    assert.deepEqual(await ids(h, "?queue=hold"), [m4]);
    assert.deepEqual(await ids(h, "?queue=incoming"), [m1, m2, m3]);
    assert.deepEqual(await ids(h, "?queue=corrupt"), []);
    assert.deepEqual(await ids(h, "?sender="), [m2], "the null sender");
    assert.deepEqual(await ids(h, "?sender=ALICE%40example.ORG"), [m1, m4]);
    assert.deepEqual(await ids(h, "?sender=bob@x.test"), [m3]);
    assert.deepEqual(await ids(h, "?sender=bob"), [], "exact, not a substring");
    assert.deepEqual(await ids(h, "?recipient=CAROL@example.org"), [m2]);
    assert.deepEqual(await ids(h, "?domain=example.net"), [m1, m2]);
    assert.deepEqual(await ids(h, "?domain=EXAMPLE.org"), [m2, m3]);
    assert.deepEqual(await ids(h, "?domain=example"), [], "exact domain");
    assert.deepEqual(await ids(h, "?domain=ample.org"), [], "exact domain");
    assert.deepEqual(await ids(h, "?min_age=1h"), [m1, m2]);
    assert.deepEqual(await ids(h, "?min_age=120m"), [m1, m2], "inclusive");
    assert.deepEqual(await ids(h, "?max_age=3600"), [m3, m4], "bare seconds");
    assert.deepEqual(await ids(h, "?min_age=90m&max_age=150m"), [m2]);
    assert.deepEqual(await ids(h, "?domain=example.net&sender=&queue=incoming"), [m2]);
    assert.deepEqual(await ids(h, "?min_age=2d"), []);
  });
});

Deno.test("recipient and domain filters skip recipients already delivered", async () => {
  await withHarness(async (h) => {
    const { m2, m3 } = await seed(h);
    const claimed = await h.queue.claimDue(Number.MAX_SAFE_INTEGER, 100);
    assert.ok(claimed.some((m) => m.id === m2));
    await h.queue.recordAttempt(m2, [{ index: 0, status: "sent", dsn: "2.0.0", reason: "ok" }], T0);
    await h.queue.recoverActive();
    assert.deepEqual(await ids(h, "?domain=example.org"), [m3]);
    assert.deepEqual(await ids(h, "?recipient=carol@example.org"), []);
    assert.deepEqual(await ids(h, "?recipient=dave@example.net"), [m2]);
  });
});

Deno.test("GET /v1/queue pages with an opaque cursor until next_cursor is null", async () => {
  await withHarness(async (h) => {
    const all: string[] = [];
    // Several in the same millisecond: the cursor orders by (arrival, id).
    for (let i = 0; i < 7; i++) {
      all.push(await h.enqueue([`u${i}@example.net`], { ageMs: i < 4 ? 60_000 : 0 }));
    }
    for (const limit of [1, 2, 3, 7]) {
      const seen: string[] = [];
      let query = `?limit=${limit}`;
      for (let pages = 0; pages < 10; pages++) {
        const page = await okJson(await h.call(`/v1/queue${query}`)) as Listing;
        assert.ok(page.messages.length <= limit);
        seen.push(...page.messages.map((m) => m.id));
        if (page.next_cursor === null) break;
        assert.match(page.next_cursor, /^[A-Za-z0-9_-]+$/);
        query = `?limit=${limit}&cursor=${page.next_cursor}`;
      }
      assert.deepEqual(seen, all, `limit ${limit}`);
    }
    const first = await okJson(await h.call("/v1/queue?limit=6")) as Listing;
    assert.notEqual(first.next_cursor, null);
    const rest = await okJson(
      await h.call(`/v1/queue?limit=6&cursor=${first.next_cursor}`),
    ) as Listing;
    assert.deepEqual(rest, { messages: [rest.messages[0]], next_cursor: null });
    assert.equal(rest.messages[0].id, all[6]);
    // The cursor keeps its place when the message it names is gone.
    await h.queue.remove(first.messages[5].id);
    const again = await okJson(
      await h.call(`/v1/queue?limit=6&cursor=${first.next_cursor}`),
    ) as Listing;
    assert.deepEqual(again.messages.map((m) => m.id), [all[6]]);
    // The default page is 100.
    assert.equal((await ids(h, "")).length, 6);
  });
});

Deno.test("GET /v1/queue refuses bad filter values, naming the parameter", async () => {
  await withHarness(async (h) => {
    const bad: [string, string][] = [
      ["?limit=0", 'limit: "0" is not a whole number from 1 to 1000'],
      ["?limit=1001", "limit:"],
      ["?limit=-1", "limit:"],
      ["?limit=1.5", "limit:"],
      ["?limit=", "limit:"],
      ["?limit=99999999999999999999", "limit:"],
      ["?queue=bogus", 'queue: "bogus" is not one of incoming, active, deferred, hold, corrupt'],
      ["?queue=HOLD", "queue:"],
      ["?cursor=garbage!", "cursor: not a cursor this server gave"],
      ["?cursor=" + btoa("12.abc"), "cursor:"],
      ["?cursor=" + btoa("x.ABC"), "cursor:"],
      ["?cursor=", "cursor:"],
      ["?cursor=" + "A".repeat(5000), "cursor:"],
      ["?min_age=abc", 'min_age: "abc" is not a time such as 300s'],
      ["?max_age=5y", "max_age:"],
      ["?max_age=-5m", "max_age:"],
      ["?min_age=99999999999999999999d", "min_age:"],
      ["?domain=a@b.example", "domain:"],
      ["?domain=", "domain:"],
      ["?domain=exa%20mple.org", "domain:"],
      ["?recipient=", "recipient: empty address"],
      ["?sender=a%0Ab@example.org", "sender:"],
      [
        "?foo=1",
        "foo: unknown parameter for this endpoint; it takes queue, sender, recipient, domain, min_age, max_age, limit, cursor",
      ],
      ["?queue=hold&queue=deferred", "queue: given more than once"],
    ];
    for (const [query, message] of bad) {
      await assertError(await h.call(`/v1/queue${query}`), 400, "invalid_parameter", message);
    }
  });
});

Deno.test("GET /v1/queue/shape counts undelivered recipients per domain and age bucket", async () => {
  await withHarness(async (h) => {
    await h.enqueue(["a@example.net", "b@Example.NET", "c@example.org"], { ageMs: 0 });
    await h.enqueue(["d@example.net"], { ageMs: 7 * MINUTE });
    await h.enqueue(["e@example.org"], { ageMs: 1280 * MINUTE });
    const held = await h.enqueue(["f@other.test", 'weird"@"@other.test'], { ageMs: 45 * MINUTE });
    await h.queue.hold(held);
    h.clock.now = T0 + 4 * MINUTE; // the first is 4 min old now, the second 11
    const body = await okJson(await h.call("/v1/queue/shape"));
    assert.deepEqual(body, {
      buckets: [
        "0-5m",
        "5-10m",
        "10-20m",
        "20-40m",
        "40-80m",
        "80-160m",
        "160-320m",
        "320-640m",
        "640-1280m",
        "1280m+",
      ],
      rows: [
        { domain: "example.net", total: 3, counts: [2, 0, 1, 0, 0, 0, 0, 0, 0, 0] },
        { domain: "example.org", total: 2, counts: [1, 0, 0, 0, 0, 0, 0, 0, 0, 1] },
        { domain: "other.test", total: 2, counts: [0, 0, 0, 0, 2, 0, 0, 0, 0, 0] },
      ],
      total: { total: 7, counts: [3, 0, 1, 0, 2, 0, 0, 0, 0, 1] },
    });
    const hold = await okJson(await h.call("/v1/queue/shape?queue=hold")) as { rows: unknown[] };
    assert.deepEqual(hold.rows, [{
      domain: "other.test",
      total: 2,
      counts: [0, 0, 0, 0, 2, 0, 0, 0, 0, 0],
    }]);
    // A store without shape(): the same answer from the paged listing.
    const noShape = new Proxy(h.queue, {
      get(target, prop) {
        if (prop === "shape") return undefined;
        const value = Reflect.get(target, prop);
        return typeof value === "function" ? value.bind(target) : value;
      },
    }) as QueueStore;
    const paged = adminApp({ ...h.deps, queue: noShape });
    for (const query of ["", "?queue=hold", "?queue=deferred"]) {
      const viaPages = await paged.request(`/v1/queue/shape${query}`, {
        headers: { authorization: "Bearer s3cret-Token_1" },
      });
      assert.deepEqual(
        await viaPages.json(),
        await (await h.call(`/v1/queue/shape${query}`)).json(),
      );
    }
    await assertError(
      await h.call("/v1/queue/shape?queue=nope"),
      400,
      "invalid_parameter",
      "queue:",
    );
    await assertError(
      await h.call("/v1/queue/shape?domain=x"),
      400,
      "invalid_parameter",
      "it takes queue",
    );
  });
});
