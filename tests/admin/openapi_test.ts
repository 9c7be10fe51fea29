import assert from "node:assert/strict";
import { Validator } from "openapi-schema-validator";
import { ROUTES } from "../../src/admin/mod.ts";
import { okJson, withHarness } from "./helpers.ts";

Deno.test("GET /v1/openapi.json is a valid OpenAPI 3.1 document", async () => {
  await withHarness(async (h) => {
    const doc = await okJson(await h.call("/v1/openapi.json")) as Record<string, unknown>;
    assert.equal(doc.openapi, "3.1.0");
    const result = await new Validator().validate(doc);
    assert.deepEqual(result.errors, undefined);
    assert.equal(result.valid, true);
    // The validator does look deep: a parameter in no valid place is refused.
    const broken = structuredClone(doc) as { paths: Record<string, Record<string, object>> };
    Object.assign(broken.paths["/healthz"].get, { parameters: [{ name: "x", in: "nowhere" }] });
    assert.equal((await new Validator().validate(broken)).valid, false);
  });
});

Deno.test("every route the app serves is in the document, and nothing else", async () => {
  await withHarness(async (h) => {
    const doc = await okJson(await h.call("/v1/openapi.json")) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const documented = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`)
    ).sort();
    const served = h.app.routes
      .filter((r) => r.method !== "ALL") // the guard middleware
      .map((r) => `${r.method} ${r.path.replace(/:(\w+)\{[^}]*\}/g, "{$1}")}`)
      .sort();
    assert.deepEqual(served, documented);
    assert.equal(served.length, ROUTES.length);
    // The contract's endpoints, spelled out once here so a lost one is noticed.
    assert.deepEqual(documented, [
      "DELETE /v1/aliases/{address}",
      "DELETE /v1/domains/{name}",
      "DELETE /v1/queue/{id}",
      "DELETE /v1/users/{address}",
      "GET /healthz",
      "GET /metrics",
      "GET /readyz",
      "GET /v1/aliases",
      "GET /v1/aliases/{address}",
      "GET /v1/config",
      "GET /v1/domains",
      "GET /v1/domains/{name}",
      "GET /v1/openapi.json",
      "GET /v1/queue",
      "GET /v1/queue/shape",
      "GET /v1/queue/{id}",
      "GET /v1/queue/{id}/raw",
      "GET /v1/route",
      "GET /v1/stats",
      "GET /v1/users",
      "GET /v1/users/{address}",
      "PATCH /v1/aliases/{address}",
      "PATCH /v1/users/{address}",
      "POST /v1/aliases",
      "POST /v1/config/check",
      "POST /v1/domains",
      "POST /v1/queue/delete",
      "POST /v1/queue/flush",
      "POST /v1/queue/hold",
      "POST /v1/queue/release",
      "POST /v1/queue/requeue",
      "POST /v1/queue/{id}/hold",
      "POST /v1/queue/{id}/release",
      "POST /v1/queue/{id}/requeue",
      "POST /v1/reload",
      "POST /v1/users",
    ]);
  });
});

Deno.test("the document's query parameters are exactly the ones the app accepts", async () => {
  await withHarness(async (h) => {
    const doc = await okJson(await h.call("/v1/openapi.json")) as {
      paths: Record<string, Record<string, { parameters?: { name: string; in: string }[] }>>;
    };
    for (const route of ROUTES) {
      const op = doc.paths[route.path][route.method.toLowerCase()];
      const query = (op.parameters ?? []).filter((p) => p.in === "query").map((p) => p.name);
      assert.deepEqual(query, (route.query ?? []).map((q) => q.name), route.path);
      if (route.method !== "GET" || route.path.includes("{") || route.public) continue;
      // Each documented parameter gets past the unknown-parameter check (its own value check aside).
      for (const name of query) {
        const r = await h.call(`${route.path}?${name}=%00`);
        const body = await r.json();
        assert.ok(
          !String(body.error?.message).includes("unknown parameter"),
          `${route.path} ${name}`,
        );
      }
    }
  });
});
