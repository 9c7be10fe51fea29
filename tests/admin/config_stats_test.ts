import assert from "node:assert/strict";
import { Config, PARAMETERS } from "../../src/config/mod.ts";
import { assertError, okJson, post, T0, withHarness } from "./helpers.ts";

Deno.test("GET /v1/config: set parameters raw, expanded, or every default", async () => {
  await withHarness(async (h) => {
    h.setConfig({ mydomain: "example.org", myorigin: "$mydomain" });
    const set = await okJson(await h.call("/v1/config")) as { parameters: Record<string, string> };
    assert.deepEqual(Object.keys(set.parameters), ["admin_tokens", "mydomain", "myorigin"]);
    assert.equal(set.parameters.myorigin, "$mydomain");
    const expanded = await okJson(await h.call("/v1/config?expanded=true")) as typeof set;
    assert.equal(expanded.parameters.myorigin, "example.org");
    const defaults = await okJson(await h.call("/v1/config?defaults=true")) as typeof set;
    assert.deepEqual(Object.keys(defaults.parameters), Object.keys(PARAMETERS).sort());
    assert.equal(defaults.parameters.myorigin, new Config().raw("myorigin"));
    assert.equal(defaults.parameters.admin_auth_failure_limit, "10");
    assert.equal(defaults.parameters.admin_tokens, "");
    const both = await okJson(
      await h.call("/v1/config?defaults=true&expanded=false"),
    ) as typeof set;
    assert.deepEqual(both, defaults);
    await assertError(
      await h.call("/v1/config?defaults=yes"),
      400,
      "invalid_parameter",
      'defaults: "yes" is not true or false',
    );
    await assertError(await h.call("/v1/config?expanded"), 400, "invalid_parameter", "expanded:");
    await assertError(
      await h.call("/v1/config?name=myorigin"),
      400,
      "invalid_parameter",
      "name: unknown parameter",
    );
  });
});

Deno.test("POST /v1/config/check reports the file's problems", async () => {
  let problems: string[] = [];
  await withHarness(
    async (h) => {
      assert.deepEqual(await okJson(await h.call("/v1/config/check", { method: "POST" })), {
        ok: true,
        problems: [],
      });
      problems = ['/etc/facteur.toml:3: unknown parameter "myorgin"; did you mean "myorigin"?'];
      assert.deepEqual(await okJson(await h.call("/v1/config/check", { method: "POST" })), {
        ok: false,
        problems,
      });
      await assertError(await h.call("/v1/config/check"), 405, "method_not_allowed");
    },
    {},
    { check: () => Promise.resolve(problems) },
  );
});

Deno.test("POST /v1/reload: 200, or 422 invalid_config with the problems", async () => {
  let result: { ok: true } | { ok: false; problems: string[] } = { ok: true };
  let reloads = 0;
  await withHarness(
    async (h) => {
      assert.deepEqual(await okJson(await h.call("/v1/reload", { method: "POST" })), {
        reloaded: true,
      });
      result = { ok: false, problems: ['facteur.toml:7: parameter "smtpd_banner" ...'] };
      assert.deepEqual(await okJson(await h.call("/v1/reload", { method: "POST" }), 422), {
        error: {
          code: "invalid_config",
          message: "the configuration has 1 problem(s); the old one keeps running",
          problems: ['facteur.toml:7: parameter "smtpd_banner" ...'],
        },
      });
      assert.equal(reloads, 2);
      // A reload that throws is a logged 500.
      result = undefined as never;
      await assertError(await h.call("/v1/reload", post({})), 500, "internal");
    },
    {},
    {
      reload: () => {
        reloads++;
        return result === undefined ? Promise.reject(new Error("boom")) : Promise.resolve(result);
      },
    },
  );
});

Deno.test("GET /readyz: 503 not_ready until ready", async () => {
  let ready = false;
  await withHarness(
    async (h) => {
      await assertError(await h.anonymous("/readyz"), 503, "not_ready", "starting or stopping");
      ready = true;
      assert.deepEqual(await okJson(await h.anonymous("/readyz")), { status: "ready" });
    },
    {},
    { ready: () => ready },
  );
});

Deno.test("GET /v1/stats: uptime, counters and queue sizes", async () => {
  await withHarness(async (h) => {
    h.deps.counters.inc("smtpd_connections_total", {}, 3);
    h.deps.counters.inc("deliveries_total", { status: "sent" });
    const id = await h.enqueue(["a@example.net"]);
    await h.enqueue(["b@example.net"]);
    await h.queue.hold(id);
    assert.deepEqual(await okJson(await h.call("/v1/stats")), {
      uptime_seconds: 90,
      counters: [
        { name: "deliveries_total", labels: { status: "sent" }, value: 1 },
        { name: "smtpd_connections_total", labels: {}, value: 3 },
      ],
      queue: { incoming: 1, active: 0, deferred: 0, hold: 1, corrupt: 0 },
    });
  });
});

Deno.test("GET /metrics: Prometheus text format 0.0.4", async () => {
  await withHarness(async (h) => {
    h.clock.now = T0 + 9_500; // 100 s after start
    h.deps.counters.inc("smtpd_connections_total", {}, 2);
    h.deps.counters.inc("deliveries_total", { status: "sent" }, 5);
    h.deps.counters.inc("deliveries_total", { status: "deferred" });
    h.deps.counters.inc("smtpd_rejects_total", { stage: "RCPT", code: '5.7.1"\\\n' });
    h.deps.counters.inc("messages_received");
    await h.enqueue(["a@example.net"]);
    const r = await h.call("/metrics");
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    assert.equal(
      await r.text(),
      [
        "# HELP facteur_uptime_seconds Seconds since facteur started.",
        "# TYPE facteur_uptime_seconds gauge",
        "facteur_uptime_seconds 100",
        "# HELP facteur_queue_messages Messages in each queue.",
        "# TYPE facteur_queue_messages gauge",
        'facteur_queue_messages{queue="incoming"} 1',
        'facteur_queue_messages{queue="active"} 0',
        'facteur_queue_messages{queue="deferred"} 0',
        'facteur_queue_messages{queue="hold"} 0',
        'facteur_queue_messages{queue="corrupt"} 0',
        "# TYPE facteur_deliveries_total counter",
        'facteur_deliveries_total{status="deferred"} 1',
        'facteur_deliveries_total{status="sent"} 5',
        "# TYPE facteur_messages_received_total counter",
        "facteur_messages_received_total 1",
        "# TYPE facteur_smtpd_connections_total counter",
        "facteur_smtpd_connections_total 2",
        "# TYPE facteur_smtpd_rejects_total counter",
        'facteur_smtpd_rejects_total{code="5.7.1\\"\\\\\\n",stage="RCPT"} 1',
        "",
      ].join("\n"),
    );
  });
});
