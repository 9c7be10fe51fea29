/**
 * The admin API as a user drives it: the real curl binary against the real
 * server process (`facteur serve`), mail sitting deferred for a dead
 * relayhost. Every answer is checked for its exact status and JSON body.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Validator } from "openapi-schema-validator";
import { ROUTES } from "../../src/admin/mod.ts";
import {
  assertError,
  authed,
  curl,
  type CurlResult,
  deadRelayToml,
  sendSmtp,
  startAdminServer,
} from "./admin_helpers.ts";

const JSON_TYPE = ["-H", "Content-Type: application/json"];

/** What a client without a valid token gets, whatever it asked. */
function assertUnauthorized(r: CurlResult, what: string) {
  assert.equal(r.status, 401, `${what}: ${r.text}`);
  assert.equal(r.headers.get("www-authenticate"), 'Bearer realm="facteur"', what);
  assert.deepEqual(r.json, {
    error: {
      code: "unauthorized",
      message: "a valid token is required: Authorization: Bearer <token>",
    },
  }, what);
}

Deno.test("admin API over curl: auth, queue, config, stats, metrics, OpenAPI, body errors", async (t) => {
  const { server, url, token } = await startAdminServer(
    deadRelayToml() + "admin_body_size_limit = 1024\nadmin_auth_failure_limit = 1000\n",
  );
  const api = authed(token);
  const post = (path: string, body: string, ...args: string[]) =>
    api(url + path, "-X", "POST", ...JSON_TYPE, "--data-binary", body, ...args);
  try {
    await t.step("/healthz and /readyz answer without a token", async () => {
      let r = await curl(url + "/healthz");
      assert.equal(r.status, 200);
      assert.deepEqual(r.json, { status: "ok" });
      r = await curl(url + "/readyz");
      assert.equal(r.status, 200);
      assert.deepEqual(r.json, { status: "ready" });
    });

    await t.step("without a valid token everything else is 401, tricks included", async () => {
      const bad = ["-H", "Authorization: Bearer not-the-token"];
      for (const path of ["/v1/queue", "/v1/stats", "/metrics", "/v1/config", "/v1/openapi.json"]) {
        assertUnauthorized(await curl(url + path), `GET ${path}`);
        assertUnauthorized(await curl(url + path, ...bad), `GET ${path} bad token`);
      }
      for (const path of ["/v1/reload", "/v1/queue/hold", "/v1/queue/flush"]) {
        assertUnauthorized(
          await curl(url + path, "-X", "POST", ...JSON_TYPE, "-d", '{"all":true}'),
          `POST ${path}`,
        );
      }
      assertUnauthorized(await curl(url + "/v1/queue/ABC123", "-X", "DELETE"), "DELETE");
      // Unknown paths: 401 before 404, so nothing is learnt without a token.
      assertUnauthorized(await curl(url + "/no/such/path"), "unknown path");
      assertUnauthorized(await curl(url + "/v1/queue/ABC123", ...bad), "unknown id");
      // Other schemes, an empty bearer, the token in the query string: refused.
      assertUnauthorized(await curl(url + "/v1/queue", "-u", `admin:${token}`), "basic auth");
      assertUnauthorized(await curl(url + "/v1/queue", "-H", "Authorization: Bearer"), "empty");
      assertUnauthorized(await curl(`${url}/v1/queue?access_token=${token}`), "query token");
      // Path tricks, sent as typed (--path-as-is: curl does not tidy them).
      for (
        const path of ["//v1/queue", "/v1/%71ueue", "/v1/./queue", "/x/../v1/queue", "/healthz/"]
      ) {
        assertUnauthorized(await curl(url + path, "--path-as-is"), path);
      }
      // A public path under another method, or with a method override, is not public.
      assertUnauthorized(await curl(url + "/healthz", "-X", "POST"), "POST /healthz");
      assertUnauthorized(await curl(url + "/healthz", "-X", "DELETE"), "DELETE /healthz");
      assertUnauthorized(
        await curl(url + "/healthz", "-X", "POST", "-H", "X-HTTP-Method-Override: GET"),
        "override to GET",
      );
      assertUnauthorized(
        await curl(url + "/v1/queue", "-H", "X-HTTP-Method-Override: DELETE"),
        "override to DELETE",
      );
      assertUnauthorized(await curl(url + "/v1/queue", "-X", "OPTIONS"), "OPTIONS");
      // HEAD: the same status and challenge, no body (curl -I writes the headers only).
      const head = await curl(url + "/v1/queue", "-I");
      assert.equal(head.status, 401);
      assert.equal(head.headers.get("www-authenticate"), 'Bearer realm="facteur"');
      assert.equal(head.headers.get("content-length"), "0");
      // With the token, an override is refused rather than obeyed.
      assertError(
        await api(url + "/v1/queue", "-H", "X-HTTP-Method-Override: DELETE"),
        400,
        "bad_request",
        /x-http-method-override is not supported/,
      );
    });

    // Three messages for a dead relayhost, deferred and kept (long backoff).
    const ids: string[] = [];
    for (
      const [to, subject] of [
        ["bob@remote.test", "first"],
        ["carol@other.test", "second"],
        ["dave@remote.test", "third"],
      ]
    ) {
      ids.push(await sendSmtp(server.port, { to, subject, body: `body of the ${subject}` }));
      // One at a time: arrival times differ, so the order is known.
      await server.waitForLog(new RegExp(`${ids.at(-1)}: to=<${to}>, .*status=deferred`));
    }
    const [first, second, third] = ids;
    /** Delivery attempts of a message, from the log. */
    const tried = (id: string) =>
      server.log().split("\n").filter((l) => l.includes(`${id}: to=`)).length;

    await t.step("GET /v1/queue lists the deferred mail, oldest first, with reasons", async () => {
      const r = await api(url + "/v1/queue");
      assert.equal(r.status, 200, r.text);
      assert.match(r.headers.get("content-type")!, /^application\/json/);
      assert.deepEqual(r.json.messages.map((m: { id: string }) => m.id), ids);
      assert.equal(r.json.next_cursor, null);
      const m = r.json.messages[0];
      assert.equal(m.queue, "deferred");
      assert.equal(m.sender, "alice@example.test");
      assert.equal(m.attempts, 1);
      assert.ok(Date.parse(m.arrival_time) <= Date.now());
      assert.ok(Date.parse(m.next_attempt) > Date.now() + 900_000, "minimal_backoff_time 1000s");
      assert.equal(m.recipients.length, 1);
      assert.equal(m.recipients[0].address, "bob@remote.test");
      assert.equal(m.recipients[0].status, "deferred");
      assert.match(m.recipients[0].reason, /Connection refused/);
      assert.ok(m.size > 0);
    });

    await t.step("filters select, bad values are 400 invalid_parameter naming them", async () => {
      const listed = async (query: string) => {
        const r = await api(`${url}/v1/queue?${query}`);
        assert.equal(r.status, 200, `${query}: ${r.text}`);
        return r.json.messages.map((m: { id: string }) => m.id);
      };
      assert.deepEqual(await listed("queue=deferred"), ids);
      assert.deepEqual(await listed("queue=hold"), []);
      assert.deepEqual(await listed("domain=remote.test"), [first, third]);
      assert.deepEqual(await listed("domain=REMOTE.test"), [first, third]);
      assert.deepEqual(await listed("recipient=Carol@Other.Test"), [second]);
      assert.deepEqual(await listed("sender=alice@example.test"), ids);
      assert.deepEqual(await listed("sender="), [], "the null sender sent none of them");
      assert.deepEqual(await listed("max_age=1h"), ids);
      assert.deepEqual(await listed("min_age=1h"), []);
      assert.deepEqual(await listed("queue=deferred&domain=other.test&max_age=2d"), [second]);

      const bad = async (query: string, name: string) => {
        const r = await api(`${url}/v1/queue?${query}`);
        assertError(r, 400, "invalid_parameter", new RegExp(`^${name.replace(".", "\\.")}: `));
      };
      await bad("min_age=soon", "min_age");
      await bad("max_age=-5m", "max_age");
      await bad("queue=outgoing", "queue");
      await bad("limit=0", "limit");
      await bad("limit=1001", "limit");
      await bad("limit=ten", "limit");
      await bad("domain=a@b", "domain");
      await bad("cursor=nonsense!", "cursor");
      await bad("colour=blue", "colour");
      await bad("queue=hold&queue=deferred", "queue");
    });

    await t.step("pagination: limit=1 and next_cursor walk the queue once", async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const q: string = cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`;
        const r = await api(`${url}/v1/queue?limit=1${q}`);
        assert.equal(r.status, 200, r.text);
        assert.equal(r.json.messages.length, 1);
        seen.push(r.json.messages[0].id);
        cursor = r.json.next_cursor;
        assert.ok(seen.length <= ids.length, "no endless pages");
      } while (cursor !== null);
      assert.deepEqual(seen, ids);
      const two = await api(`${url}/v1/queue?limit=2&domain=remote.test`);
      assert.deepEqual(two.json.messages.map((m: { id: string }) => m.id), [first, third]);
      assert.equal(two.json.next_cursor, null, "exactly two: no next page");
    });

    await t.step("GET /v1/queue/{id}, /raw, and an unknown id", async () => {
      let r = await api(`${url}/v1/queue/${second}`);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.id, second);
      assert.equal(r.json.queue, "deferred");
      assert.equal(r.json.envelope.smtputf8, false);
      const rcpt = r.json.envelope.recipients[0];
      assert.equal(rcpt.address, "carol@other.test");
      assert.equal(rcpt.original, "carol@other.test");
      assert.equal(rcpt.status, "deferred");
      assert.equal(rcpt.dsn, "4.4.1");
      assert.match(rcpt.reason, /connect to 127\.0\.0\.1\[127\.0\.0\.1\]:\d+: Connection refused/);

      r = await api(`${url}/v1/queue/${second}/raw`);
      assert.equal(r.status, 200);
      assert.equal(r.headers.get("content-type"), "message/rfc822");
      assert.match(
        r.text,
        new RegExp(
          `^Received: from client\\.test .*\\r?\\n\\s+by mail\\.example\\.test .* id ${second}`,
        ),
      );
      assert.match(r.text, /^Subject: second\r?$/m);
      assert.match(r.text, /^From: alice@example\.test\r?$/m, "cleanup added the From");
      assert.match(r.text, /\r?\n\r?\nbody of the second\r?\n$/, "the body as sent, at the end");

      for (const path of ["/v1/queue/NOSUCH1", "/v1/queue/NOSUCH1/raw"]) {
        assertError(await api(url + path), 404, "not_found", /^no message with queue id NOSUCH1$/);
      }
      assertError(
        await api(url + "/v1/queue/NOSUCH1", "-X", "DELETE"),
        404,
        "not_found",
        /NOSUCH1/,
      );
      // Not a queue id at all: no such endpoint.
      assertError(await api(url + "/v1/queue/lower-case"), 404, "not_found", /no endpoint/);
    });

    await t.step(
      "hold, release, requeue one message; 409 when it is in the wrong queue",
      async () => {
        const op = (id: string, action: string) =>
          api(`${url}/v1/queue/${id}/${action}`, "-X", "POST");
        assertError(await op(first, "release"), 409, "conflict", /is not held/);
        let r = await op(first, "hold");
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(r.json, { changed: 1 });
        assert.equal((await api(`${url}/v1/queue/${first}`)).json.queue, "hold");
        assertError(await op(first, "hold"), 409, "conflict", /already in the hold queue/);
        assertError(await op(first, "requeue"), 409, "conflict", /hold queue/);
        r = await api(`${url}/v1/queue?queue=hold`);
        assert.deepEqual(r.json.messages.map((m: { id: string }) => m.id), [first]);
        r = await op(first, "release");
        assert.deepEqual(r.json, { changed: 1 });
        assert.notEqual((await api(`${url}/v1/queue/${first}`)).json.queue, "hold");
        assertError(await op("NOSUCH1", "hold"), 404, "not_found", /NOSUCH1/);

        // Requeue: tried again now instead of in 1000 s (the API wakes the queue manager).
        const triedBefore = tried(third);
        r = await op(third, "requeue");
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(r.json, { changed: 1 });
        await waitFor(() => tried(third) > triedBefore);
        assertError(await op("NOSUCH1", "requeue"), 404, "not_found", /NOSUCH1/);
      },
    );

    await t.step("bulk hold/release/requeue: ids, all, filter; bad selections", async () => {
      let r = await post("/v1/queue/hold", '{"all":true}');
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.matched, 3);
      assert.equal(r.json.changed, 3);
      r = await api(`${url}/v1/queue?queue=hold`);
      assert.equal(r.json.messages.length, 3);
      r = await post("/v1/queue/release", '{"filter":{"domain":"remote.test"}}');
      assert.deepEqual(r.json, { matched: 2, changed: 2 });
      r = await post("/v1/queue/release", `{"ids":["${second}","${first}","NOSUCH1"]}`);
      assert.deepEqual(r.json, { matched: 2, changed: 1 }, "first was released already");
      r = await post("/v1/queue/requeue", '{"filter":{"queue":"hold"}}');
      assert.deepEqual(r.json, { matched: 0, changed: 0 });

      assertError(
        await post("/v1/queue/hold", '{"all":true,"ids":[]}'),
        400,
        "bad_request",
        /exactly one of ids, all, filter \(got ids, all\)/,
      );
      assertError(await post("/v1/queue/hold", "{}"), 400, "bad_request", /got none/);
      assertError(await post("/v1/queue/hold", '{"all":false}'), 400, "invalid_parameter", /^all:/);
      assertError(
        await post("/v1/queue/hold", '{"ids":["ok1","x y"]}'),
        400,
        "invalid_parameter",
        /^ids\[0\]:/,
      );
      assertError(
        await post("/v1/queue/hold", '{"filter":{"min_age":"soon"}}'),
        400,
        "invalid_parameter",
        /^filter\.min_age:/,
      );
      assertError(
        await post("/v1/queue/hold", '{"filter":{"colour":"blue"}}'),
        400,
        "invalid_parameter",
        /^filter\.colour: unknown field/,
      );
      assertError(await post("/v1/queue/hold", '{"everything":true}'), 400, "invalid_parameter");
    });

    await t.step("GET /v1/queue/shape counts recipients per domain and age", async () => {
      let r = await api(`${url}/v1/queue/shape`);
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json.buckets, [
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
      ]);
      const zeros = (n: number) => [n, 0, 0, 0, 0, 0, 0, 0, 0, 0];
      assert.deepEqual(r.json.rows, [
        { domain: "remote.test", total: 2, counts: zeros(2) },
        { domain: "other.test", total: 1, counts: zeros(1) },
      ]);
      assert.deepEqual(r.json.total, { total: 3, counts: zeros(3) });
      r = await api(`${url}/v1/queue/shape?queue=hold`);
      assert.deepEqual(r.json.rows, []);
      assert.deepEqual(r.json.total, { total: 0, counts: zeros(0) });
      assertError(
        await api(`${url}/v1/queue/shape?queue=nope`),
        400,
        "invalid_parameter",
        /^queue:/,
      );
    });

    await t.step("POST /v1/queue/flush makes mail due and wakes the queue manager", async () => {
      /** Every message deferred and none due: no attempt is under way or about to start. */
      const settled = async () => {
        const { messages } = (await api(`${url}/v1/queue`)).json;
        return messages.length === 3 &&
          messages.every((m: { queue: string; next_attempt: string }) =>
            m.queue === "deferred" && Date.parse(m.next_attempt) > Date.now() + 500_000
          );
      };
      // Released and requeued above: tried again at once, deferred again for 1000 s.
      await waitFor(async () =>
        (await api(`${url}/v1/queue?queue=deferred`)).json.messages.length === 3
      );
      const before = ids.map(tried);
      let r = await post("/v1/queue/flush", "{}");
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json, { due: 3 });
      await waitFor(() => ids.every((id, i) => tried(id) > before[i]));
      await waitFor(settled);
      // -s DOMAIN: only that domain's mail is tried again.
      const after = ids.map(tried);
      r = await post("/v1/queue/flush", '{"domain":"other.test"}');
      assert.deepEqual(r.json, { due: 1 });
      await waitFor(() => tried(second) === after[1] + 1);
      await waitFor(settled);
      assert.deepEqual(ids.map(tried), [after[0], after[1] + 1, after[2]], "only other.test");
      assertError(
        await post("/v1/queue/flush", '{"domain":"a@b"}'),
        400,
        "invalid_parameter",
        /^domain:/,
      );
      assertError(
        await post("/v1/queue/flush", '{"domain":5}'),
        400,
        "invalid_parameter",
        /^domain:/,
      );
      assertError(
        await post("/v1/queue/flush", '{"queue":"hold"}'),
        400,
        "invalid_parameter",
        /^queue: unknown field/,
      );
    });

    await t.step("GET /v1/stats and /metrics count what happened", async () => {
      let r = await api(`${url}/v1/stats`);
      assert.equal(r.status, 200, r.text);
      const counter = (name: string, labels: Record<string, string> = {}) =>
        r.json.counters.find((c: { name: string; labels: Record<string, string> }) =>
          c.name === name && JSON.stringify(c.labels) === JSON.stringify(labels)
        )?.value;
      assert.equal(counter("messages_received_total"), 3);
      assert.equal(counter("smtpd_connections_total"), 3);
      const deferrals = server.log().match(/status=deferred/g)!.length;
      assert.equal(counter("deliveries_total", { status: "deferred" }), deferrals);
      assert.equal(counter("deliveries_total", { status: "sent" }), undefined);
      assert.ok(Number.isInteger(r.json.uptime_seconds) && r.json.uptime_seconds >= 0);
      const queued = r.json.queue;
      assert.deepEqual(Object.keys(queued).sort(), [
        "active",
        "corrupt",
        "deferred",
        "hold",
        "incoming",
      ]);
      assert.equal(queued.deferred + queued.active + queued.incoming, 3);

      r = await api(`${url}/metrics`);
      assert.equal(r.status, 200);
      assert.equal(r.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
      assert.match(
        r.text,
        /^# TYPE facteur_messages_received_total counter\nfacteur_messages_received_total 3$/m,
      );
      assert.match(r.text, /^facteur_smtpd_connections_total 3$/m);
      assert.match(
        r.text,
        new RegExp(`^facteur_deliveries_total\\{status="deferred"\\} ${deferrals}$`, "m"),
      );
      assert.match(r.text, /^facteur_queue_messages\{queue="hold"\} 0$/m);
      assert.match(r.text, /^facteur_uptime_seconds \d+$/m);
      // Every sample line is "name{labels} number" (text format 0.0.4).
      for (const line of r.text.trimEnd().split("\n")) {
        assert.match(
          line,
          /^(# (HELP|TYPE) .+|[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? -?\d+(\.\d+)?)$/,
        );
      }
    });

    await t.step("GET /v1/config (-n, -d, -x) and POST /v1/config/check", async () => {
      let r = await api(`${url}/v1/config`);
      assert.equal(r.status, 200, r.text);
      const set = r.json.parameters;
      assert.equal(set.admin_body_size_limit, "1024");
      assert.equal(set.minimal_backoff_time, "1000s");
      assert.equal(set.mydestination, "$myhostname, $mydomain, localhost", "raw, as written");
      assert.equal(set.smtpd_banner, undefined, "not set: not listed");

      r = await api(`${url}/v1/config?defaults=true`);
      const defaults = r.json.parameters;
      assert.equal(defaults.admin_body_size_limit, "1048576");
      assert.equal(defaults.admin_auth_failure_limit, "10");
      assert.equal(defaults.smtpd_banner, "$myhostname ESMTP $mail_name");
      assert.ok(Object.keys(defaults).length > Object.keys(set).length);

      r = await api(`${url}/v1/config?expanded=true`);
      assert.equal(r.json.parameters.mydestination, "mail.example.test, example.test, localhost");

      assertError(
        await api(`${url}/v1/config?defaults=yes`),
        400,
        "invalid_parameter",
        /^defaults:/,
      );
      assertError(
        await api(`${url}/v1/config?verbose=true`),
        400,
        "invalid_parameter",
        /^verbose:/,
      );

      r = await api(`${url}/v1/config/check`, "-X", "POST");
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json, { ok: true, problems: [] });
      // The file on disk broken: check says where, the running server is untouched.
      const good = await Deno.readTextFile(server.configFile);
      await Deno.writeTextFile(server.configFile, good + "\nno_such_parameter = 1\n");
      try {
        r = await api(`${url}/v1/config/check`, "-X", "POST");
        assert.equal(r.status, 200);
        assert.equal(r.json.ok, false);
        assert.equal(r.json.problems.length, 1);
        assert.match(r.json.problems[0], /no_such_parameter/);
        assert.ok(r.json.problems[0].includes(server.configFile), r.json.problems[0]);
      } finally {
        await Deno.writeTextFile(server.configFile, good);
      }
      assert.equal((await api(`${url}/readyz`)).status, 200);
    });

    await t.step("/v1/openapi.json validates and lists exactly the routes served", async () => {
      const r = await api(`${url}/v1/openapi.json`);
      assert.equal(r.status, 200);
      const doc = r.json;
      assert.equal(doc.openapi, "3.1.0");
      const result = await new Validator().validate(doc);
      assert.equal(result.errors, undefined);
      assert.equal(result.valid, true);
      const documented = Object.entries(doc.paths as Record<string, object>).flatMap((
        [path, item],
      ) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`)).sort();
      // The running server documents the same route table the code serves (src/admin ROUTES).
      assert.equal(documented.length, ROUTES.length);
      // Each documented route is served: never "no endpoint" nor 405.
      for (const route of documented) {
        const [method, path] = route.split(" ");
        if (route === "POST /v1/reload" || route === "POST /v1/queue/delete") continue;
        const args = method === "POST" ? ["-X", "POST", ...JSON_TYPE, "-d", '{"ids":[]}'] : [];
        const res = await api(url + path.replace("{id}", "NOSUCH1"), "-X", method, ...args);
        assert.ok(res.status !== 405, `${route}: ${res.text}`);
        assert.ok(!/no endpoint/.test(res.json?.error?.message ?? ""), `${route}: ${res.text}`);
      }
      // A method the document does not give a path: 405 naming the ones it does.
      const r405 = await api(`${url}/v1/queue`, "-X", "DELETE");
      assertError(r405, 405, "method_not_allowed", /use GET, HEAD/);
      assert.equal(r405.headers.get("allow"), "GET, HEAD");
    });

    await t.step("request bodies: bad JSON 400, wrong type 415, too large 413", async () => {
      assertError(
        await post("/v1/queue/hold", '{"all": tru'),
        400,
        "invalid_json",
        /^request body is not valid JSON/,
      );
      assertError(await post("/v1/queue/hold", ""), 400, "invalid_json", /it is empty/);
      assertError(await post("/v1/queue/hold", "[1,2]"), 400, "bad_request", /JSON object/);
      assertError(
        await api(url + "/v1/queue/hold", "-X", "POST", "-d", '{"all":true}'),
        415,
        "unsupported_media_type",
        /application\/json \(got "application\/x-www-form-urlencoded"\)/,
      );
      assertError(
        await api(
          url + "/v1/queue/hold",
          "-X",
          "POST",
          "-H",
          "Content-Type: text/plain",
          "-d",
          "{}",
        ),
        415,
        "unsupported_media_type",
      );
      const big = JSON.stringify({ ids: Array.from({ length: 200 }, (_, i) => `ID${i}`) });
      assert.ok(big.length > 1024);
      const limit = /larger than admin_body_size_limit \(1024 bytes\)/;
      assertError(await post("/v1/queue/hold", big), 413, "body_too_large", limit);
      // Without Content-Length (chunked), the size is found while reading.
      assertError(
        await post("/v1/queue/hold", big, "-H", "Transfer-Encoding: chunked"),
        413,
        "body_too_large",
        limit,
      );
      // Nothing was held by any of these.
      assert.equal((await api(`${url}/v1/queue?queue=hold`)).json.messages.length, 0);
    });

    await t.step("DELETE one, POST /v1/queue/delete by filter and all", async () => {
      let r = await api(`${url}/v1/queue/${first}`, "-X", "DELETE");
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json, { deleted: 1 });
      assertError(await api(`${url}/v1/queue/${first}`, "-X", "DELETE"), 404, "not_found");
      assertError(await api(`${url}/v1/queue/${first}`), 404, "not_found");
      await waitFor(async () =>
        (await api(`${url}/v1/queue?queue=deferred`)).json.messages.length === 2
      );
      r = await post("/v1/queue/delete", '{"filter":{"recipient":"carol@other.test"}}');
      assert.deepEqual(r.json, { matched: 1, changed: 1 });
      r = await post("/v1/queue/delete", '{"all":true}');
      assert.deepEqual(r.json, { matched: 1, changed: 1 });
      r = await api(`${url}/v1/queue`);
      assert.deepEqual(r.json, { messages: [], next_cursor: null });
      r = await api(`${url}/metrics`);
      assert.match(r.text, /^facteur_queue_messages\{queue="deferred"\} 0$/m);
    });
  } finally {
    await server.stop();
    await Deno.remove(server.dir, { recursive: true });
  }
});

Deno.test("admin API: after admin_auth_failure_limit bad tokens, 429 even with the good one", async () => {
  const { server, url, token } = await startAdminServer(
    'admin_auth_failure_limit = 3\nadmin_auth_failure_window = "3s"\n',
  );
  const api = authed(token);
  try {
    assert.equal((await api(`${url}/v1/stats`)).status, 200);
    const started = Date.now();
    for (let i = 0; i < 3; i++) {
      assertUnauthorized(
        await curl(`${url}/v1/stats`, "-H", `Authorization: Bearer wrong${i}`),
        `failure ${i + 1}`,
      );
    }
    for (const r of [await curl(`${url}/v1/stats`), await api(`${url}/v1/stats`)]) {
      assertError(r, 429, "too_many_failures", /too many failed authentications from 127\.0\.0\.1/);
      const retry = Number(r.headers.get("retry-after"));
      assert.ok(retry >= 1 && retry <= 3, `Retry-After ${r.headers.get("retry-after")}`);
    }
    // Health checks stay open to monitoring meanwhile.
    assert.equal((await curl(`${url}/healthz`)).status, 200);
    assert.match(server.log(), /admin: 3 failed authentications from 127\.0\.0\.1/);
    // The window passes: the good token works again.
    await new Promise((r) => setTimeout(r, Math.max(0, started + 3200 - Date.now())));
    await waitFor(async () => (await api(`${url}/v1/stats`)).status === 200, 3000);
  } finally {
    await server.stop();
    await Deno.remove(server.dir, { recursive: true });
  }
});

Deno.test("admin API: the token file the server made at first start is 0600 and works", async () => {
  const { server, url, token } = await startAdminServer();
  try {
    const file = join(server.dataDir, "admin.token");
    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
    assert.match(token, /^[A-Za-z0-9_-]{40,}$/);
    assert.match(server.log(), /admin_token_file: created .*admin\.token with a new admin token/);
    assert.equal((await authed(token)(`${url}/v1/queue`)).status, 200);
    assert.equal((await authed(token + "x")(`${url}/v1/queue`)).status, 401);
  } finally {
    await server.stop();
    await Deno.remove(server.dir, { recursive: true });
  }
});

/** Polls `fn` every 50 ms until it holds, or fails after `ms`. */
async function waitFor(fn: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`condition not met in ${ms} ms: ${fn}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
