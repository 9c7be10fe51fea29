import assert from "node:assert/strict";
import {
  assertError,
  defer,
  type Harness,
  JSON_TYPE,
  MINUTE,
  okJson,
  post,
  withHarness,
} from "./helpers.ts";

Deno.test("GET /v1/queue/{id}: the summary and the whole envelope", async () => {
  await withHarness(async (h) => {
    const id = await h.enqueue(["bob@example.net", "carol@example.org"], {
      ageMs: 5 * MINUTE,
      envelope: {
        ret: "HDRS",
        envid: "QQ314159",
        bodyType: "8BITMIME",
        smtputf8: true,
        recipients: [
          {
            address: "bob@example.net",
            notify: ["FAILURE", "DELAY"],
            orcpt: "rfc822;bob@example.net",
            original: "info@example.net",
          },
          { address: "carol@example.org" },
        ],
      },
    });
    await defer(h, id);
    assert.deepEqual(await okJson(await h.call(`/v1/queue/${id}`)), {
      id,
      queue: "deferred",
      sender: "alice@example.org",
      arrival_time: "2027-01-15T07:55:00.000Z",
      size: 24,
      attempts: 1,
      next_attempt: "2027-01-15T08:10:00.000Z",
      recipients: [
        {
          address: "bob@example.net",
          status: "deferred",
          dsn: "4.4.1",
          reason: "connect to mx: Connection refused",
        },
        { address: "carol@example.org", status: "pending" },
      ],
      envelope: {
        ret: "HDRS",
        envid: "QQ314159",
        body_type: "8BITMIME",
        smtputf8: true,
        recipients: [
          {
            address: "bob@example.net",
            original: "info@example.net",
            notify: ["FAILURE", "DELAY"],
            orcpt: "rfc822;bob@example.net",
            status: "deferred",
            dsn: "4.4.1",
            reason: "connect to mx: Connection refused",
            relay: null,
            attempts: 1,
          },
          {
            address: "carol@example.org",
            original: null,
            notify: null,
            orcpt: null,
            status: "pending",
            dsn: null,
            reason: null,
            relay: null,
            attempts: 0,
          },
        ],
      },
    });
    await assertError(
      await h.call("/v1/queue/ZZZZZZZZZZZZ"),
      404,
      "not_found",
      "no message with queue id ZZZZZZZZZZZZ",
    );
  });
});

Deno.test("GET /v1/queue/{id}/raw: the stored bytes as message/rfc822", async () => {
  await withHarness(async (h) => {
    const content = "Subject: caf\u00e9\r\n\r\n\u0000\u00ff binary\r\n.\r\n";
    const id = await h.enqueue(["bob@example.net"], { content });
    const r = await h.call(`/v1/queue/${id}/raw`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("content-type"), "message/rfc822");
    assert.deepEqual(new Uint8Array(await r.arrayBuffer()), new TextEncoder().encode(content));
    await assertError(await h.call("/v1/queue/ZZZZZZZZZZZZ/raw"), 404, "not_found", "ZZZZZZZZZZZZ");
  });
});

Deno.test("DELETE /v1/queue/{id}: deleted once, then 404", async () => {
  await withHarness(async (h) => {
    const id = await h.enqueue(["bob@example.net"]);
    assert.deepEqual(await okJson(await h.call(`/v1/queue/${id}`, { method: "DELETE" })), {
      deleted: 1,
    });
    assert.equal(await h.queue.get(id), undefined);
    await assertError(await h.call(`/v1/queue/${id}`, { method: "DELETE" }), 404, "not_found", id);
  });
});

async function queueOf(h: Harness, id: string) {
  return (await h.queue.get(id))?.queue;
}

Deno.test("POST /v1/queue/{id}/hold|release|requeue: 200, 404 unknown, 409 wrong queue", async () => {
  await withHarness(async (h) => {
    const id = await h.enqueue(["bob@example.net"]);
    const op = (name: string, target = id) =>
      h.call(`/v1/queue/${target}/${name}`, { method: "POST" });
    await assertError(
      await op("release"),
      409,
      "conflict",
      `message ${id} is not held (it is in the incoming queue)`,
    );
    assert.deepEqual(await okJson(await op("hold")), { changed: 1 });
    assert.equal(await queueOf(h, id), "hold");
    await assertError(await op("hold"), 409, "conflict", "already in the hold queue");
    await assertError(
      await op("requeue"),
      409,
      "conflict",
      "only incoming and deferred messages can be requeued",
    );
    assert.deepEqual(await okJson(await op("release")), { changed: 1 });
    assert.equal(await queueOf(h, id), "deferred");
    const before = Date.now();
    assert.deepEqual(await okJson(await op("requeue")), { changed: 1 });
    assert.ok((await h.queue.get(id))!.nextAttempt >= before, "due now");
    await h.queue.markCorrupt(id);
    await assertError(await op("hold"), 409, "conflict", "already in the corrupt queue");
    for (const name of ["hold", "release", "requeue"]) {
      await assertError(
        await op(name, "ZZZZZZZZZZZZ"),
        404,
        "not_found",
        "no message with queue id ZZZZZZZZZZZZ",
      );
    }
  });
});

Deno.test("POST /v1/queue/{op} with ids: matched are the ones that exist, changed the ones that moved", async () => {
  await withHarness(async (h) => {
    const a = await h.enqueue(["a@example.net"]);
    const b = await h.enqueue(["b@example.net"]);
    const c = await h.enqueue(["c@example.net"]);
    await h.queue.hold(c);
    const r = await h.call("/v1/queue/hold", post({ ids: [a, b, c, a, "ZZZZZZZZZZZZ"] }));
    assert.deepEqual(await okJson(r), { matched: 3, changed: 2 });
    assert.deepEqual([await queueOf(h, a), await queueOf(h, b), await queueOf(h, c)], [
      "hold",
      "hold",
      "hold",
    ]);
    assert.deepEqual(await okJson(await h.call("/v1/queue/release", post({ ids: [a] }))), {
      matched: 1,
      changed: 1,
    });
    assert.deepEqual(await okJson(await h.call("/v1/queue/requeue", post({ ids: [a, b] }))), {
      matched: 2,
      changed: 1,
    });
    assert.deepEqual(
      await okJson(await h.call("/v1/queue/delete", post({ ids: [b, "ZZZZZZZZZZZZ"] }))),
      { matched: 1, changed: 1 },
    );
    assert.equal(await h.queue.get(b), undefined);
    assert.deepEqual(await okJson(await h.call("/v1/queue/delete", post({ ids: [] }))), {
      matched: 0,
      changed: 0,
    });
  });
});

Deno.test("POST /v1/queue/{op} with all or a filter walks the whole selection", async () => {
  await withHarness(async (h) => {
    const old: string[] = [];
    for (let i = 0; i < 5; i++) {
      old.push(await h.enqueue([`x${i}@slow.test`], { ageMs: 60 * MINUTE }));
    }
    const fresh = await h.enqueue(["y@fast.test"], { sender: "" });
    const hold = await h.call(
      "/v1/queue/hold",
      post({ filter: { domain: "slow.test", min_age: "30m" } }),
    );
    assert.deepEqual(await okJson(hold), { matched: 5, changed: 5 });
    assert.equal(await queueOf(h, fresh), "incoming");
    const release = await h.call(
      "/v1/queue/release",
      post({ filter: { queue: "hold", max_age: "2h" } }),
    );
    assert.deepEqual(await okJson(release), { matched: 5, changed: 5 });
    const bySender = await h.call("/v1/queue/hold", post({ filter: { sender: "" } }));
    assert.deepEqual(await okJson(bySender), { matched: 1, changed: 1 });
    assert.equal(await queueOf(h, fresh), "hold");
    const all = await h.call("/v1/queue/delete", post({ all: true }));
    assert.deepEqual(await okJson(all), { matched: 6, changed: 6 });
    assert.deepEqual(await h.queue.list(), []);
  });
});

Deno.test("POST /v1/queue/{op}: a body that is not exactly one selection is refused", async () => {
  await withHarness(async (h) => {
    const id = await h.enqueue(["a@example.net"]);
    const bad: [unknown, number, string, string][] = [
      [{}, 400, "bad_request", "give exactly one of ids, all, filter (got none)"],
      [{ ids: [id], all: true }, 400, "bad_request", "(got ids, all)"],
      [{ ids: id }, 400, "invalid_parameter", "ids: must be an array of queue ids"],
      [{ ids: [id, "abc"] }, 400, "invalid_parameter", 'ids[1]: "abc" is not a queue id'],
      [{ ids: [42] }, 400, "invalid_parameter", "ids[0]: 42 is not a queue id"],
      [{ ids: [null] }, 400, "invalid_parameter", "ids[0]:"],
      [{ all: false }, 400, "invalid_parameter", "all: must be true"],
      [{ all: "true" }, 400, "invalid_parameter", "all: must be true"],
      [
        { filter: {} },
        400,
        "invalid_parameter",
        'filter: give at least one criterion (for every message use {"all":true})',
      ],
      [{ filter: [] }, 400, "invalid_parameter", "filter: must be an object"],
      [{ filter: null }, 400, "invalid_parameter", "filter: must be an object"],
      [{ filter: { color: "red" } }, 400, "invalid_parameter", "filter.color: unknown field"],
      [{ filter: { min_age: 300 } }, 400, "invalid_parameter", "filter.min_age: must be a string"],
      [
        { filter: { min_age: "soon" } },
        400,
        "invalid_parameter",
        'filter.min_age: "soon" is not a time',
      ],
      [{ filter: { queue: "limbo" } }, 400, "invalid_parameter", "filter.queue:"],
      [
        { ids: [id], extra: 1 },
        400,
        "invalid_parameter",
        "extra: unknown field; this body takes ids, all, filter",
      ],
      [{ __proto__: { all: true } }, 400, "bad_request", "(got none)"],
    ];
    for (const [body, status, code, message] of bad) {
      await assertError(await h.call("/v1/queue/delete", post(body)), status, code, message);
    }
    await assertError(
      await h.call("/v1/queue/delete", post('{"__proto__": {"all": true}}')),
      400,
      "invalid_parameter",
      "__proto__: unknown field",
    );
    assert.ok(await h.queue.get(id), "nothing was deleted");
  });
});

Deno.test("POST /v1/queue/flush: all, or one domain; bad bodies refused", async () => {
  await withHarness(async (h) => {
    assert.deepEqual(await okJson(await h.call("/v1/queue/flush", post({}))), { due: 2 });
    assert.deepEqual(
      await okJson(await h.call("/v1/queue/flush", post({ domain: "example.net" }))),
      { due: 1 },
    );
    assert.deepEqual(h.flushes, [undefined, "example.net"]);
    await assertError(
      await h.call("/v1/queue/flush", post({ domain: "a@b" })),
      400,
      "invalid_parameter",
      "domain:",
    );
    await assertError(
      await h.call("/v1/queue/flush", post({ domain: 7 })),
      400,
      "invalid_parameter",
      "domain: must be a string",
    );
    await assertError(
      await h.call("/v1/queue/flush", post({ all: true })),
      400,
      "invalid_parameter",
      "all: unknown field",
    );
    await assertError(
      await h.call("/v1/queue/flush", post([])),
      400,
      "bad_request",
      "must be a JSON object",
    );
    assert.equal(h.flushes.length, 2);
  });
});

Deno.test("request bodies: 415 without JSON, 413 past the limit (declared or streamed), 400 bad JSON", async () => {
  await withHarness(async (h) => {
    const flush = (init: RequestInit) => h.call("/v1/queue/flush", { method: "POST", ...init });
    const braces = new TextEncoder().encode("{}"); // a string body would get text/plain
    await assertError(
      await flush({ body: braces }),
      415,
      "unsupported_media_type",
      "must be application/json (got none)",
    );
    await assertError(
      await flush({ body: "{}", headers: { "content-type": "text/plain" } }),
      415,
      "unsupported_media_type",
      '"text/plain"',
    );
    await assertError(
      await flush({ body: "{}", headers: { "content-type": "application/jsonx" } }),
      415,
      "unsupported_media_type",
    );
    assert.equal(
      (await flush({ body: "{}", headers: { "content-type": "Application/JSON; charset=utf-8" } }))
        .status,
      200,
    );
    const big = "{" + " ".repeat(100) + "}";
    await assertError(
      await flush({ body: big, headers: JSON_TYPE }),
      413,
      "body_too_large",
      "admin_body_size_limit (64 bytes)",
    );
    await assertError(
      await flush({ body: "{}", headers: { ...JSON_TYPE, "content-length": "1000000000" } }),
      413,
      "body_too_large",
    );
    // A large declared length is refused on any route, before anything is read.
    await assertError(
      await h.call("/v1/stats", { headers: { "content-length": "65" } }),
      413,
      "body_too_large",
    );
    await assertError(
      await h.call("/v1/stats", { headers: { "content-length": "12abc" } }),
      400,
      "bad_request",
      "Content-Length",
    );
    // Chunked: no length; the reader stops at the limit and cancels an endless stream.
    let cancelled = false;
    let sent = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        sent += 16;
        controller.enqueue(new TextEncoder().encode(" ".repeat(16)));
      },
      cancel() {
        cancelled = true;
      },
    });
    await assertError(await flush({ body: endless, headers: JSON_TYPE }), 413, "body_too_large");
    assert.ok(cancelled, "the stream was cancelled");
    assert.ok(sent <= 96, `read ${sent} bytes`);
    const bad: [BodyInit, string][] = [
      ["", "request body is not valid JSON: it is empty"],
      ["{", "request body is not valid JSON"],
      ["{'a':1}", "request body is not valid JSON"],
      [
        new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]),
        "request body is not valid JSON",
      ],
    ];
    for (const [body, message] of bad) {
      await assertError(await flush({ body, headers: JSON_TYPE }), 400, "invalid_json", message);
    }
    await assertError(
      await flush({ body: "null", headers: JSON_TYPE }),
      400,
      "bad_request",
      "must be a JSON object",
    );
    await assertError(
      await flush({ body: "[{}]", headers: JSON_TYPE }),
      400,
      "bad_request",
      "must be a JSON object",
    );
    assert.equal(h.flushes.length, 1);
  }, { admin_body_size_limit: "64" });
});

Deno.test("queue storage failures are a logged 500 in the error shape", async () => {
  await withHarness(async (h) => {
    await h.queue.close(); // every call now rejects
    await assertError(
      await h.call("/v1/queue"),
      500,
      "internal",
      "internal error: queue is closed",
    );
    assert.deepEqual(h.log, ["admin: error: queue is closed"]);
  });
});
