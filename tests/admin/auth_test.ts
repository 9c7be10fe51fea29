import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { hashToken, loadTokens } from "../../src/admin/mod.ts";
import { bearerToken } from "../../src/admin/auth.ts";
import { Config } from "../../src/config/mod.ts";
import { ConfigError } from "../../src/errors.ts";
import { assertError, AUTH, harness, okJson, TOKEN, withHarness } from "./helpers.ts";

Deno.test("hashToken gives sha256:HEX of the token's UTF-8", () => {
  const hex = createHash("sha256").update("tøken").digest("hex");
  assert.equal(hashToken("tøken"), `sha256:${hex}`);
  assert.match(hashToken("x"), /^sha256:[0-9a-f]{64}$/);
});

Deno.test("bearerToken takes RFC 6750 b64token after a case-insensitive Bearer", () => {
  assert.equal(bearerToken("Bearer abc.DEF-_~+/="), "abc.DEF-_~+/=");
  assert.equal(bearerToken("bearer abc"), "abc");
  assert.equal(bearerToken("Basic YWxhZGRpbjpvcGVu"), undefined);
  assert.equal(bearerToken("Bearer "), undefined);
  assert.equal(bearerToken("Bearer a b"), undefined);
  assert.equal(bearerToken("Bearer tøken"), undefined);
  assert.equal(bearerToken(undefined), undefined);
});

Deno.test("loadTokens: hashed tokens and the token file's first line both match", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "admin.token");
    await Deno.writeTextFile(file, "from-file\nignored second line\n", { mode: 0o600 });
    await Deno.chmod(file, 0o600);
    const config = new Config({
      admin_tokens: `${hashToken("one")}, ${
        hashToken("two").toUpperCase().replace("SHA256", "sha256")
      }`,
      admin_token_file: file,
    });
    const tokens = await loadTokens(config);
    assert.equal(tokens.size, 3);
    assert.deepEqual(tokens.warnings, []);
    for (const t of ["one", "two", "from-file"]) assert.ok(tokens.matches(t), t);
    for (const t of ["ignored second line", "on", "", "sha256:x"]) assert.ok(!tokens.matches(t), t);
    assert.ok(!tokens.matches(undefined));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadTokens: a token file others can read is used, with a warning", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "admin.token");
    await Deno.writeTextFile(file, "open-token\n");
    await Deno.chmod(file, 0o644);
    const tokens = await loadTokens(new Config({ admin_token_file: file }));
    assert.ok(tokens.matches("open-token"));
    assert.equal(tokens.warnings.length, 1);
    assert.match(tokens.warnings[0], /can be read by others \(mode 644\); make it 0600/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadTokens: malformed hash, missing file and empty file are ConfigErrors", async () => {
  await assert.rejects(
    loadTokens(new Config({ admin_tokens: "sha256:abcd" })),
    (e) => e instanceof ConfigError && /admin_tokens.*64 hex digits/.test(e.message),
  );
  await assert.rejects(
    loadTokens(new Config({ admin_tokens: "plaintext-token" })),
    (e) => e instanceof ConfigError && /"plaintext-token\.\.\." is not "sha256:"/.test(e.message),
  );
  await assert.rejects(
    loadTokens(new Config({ admin_token_file: "/nonexistent/facteur/token" })),
    (e) => e instanceof ConfigError && e.message.startsWith("admin_token_file /nonexistent"),
  );
  const file = await Deno.makeTempFile();
  try {
    await assert.rejects(
      loadTokens(new Config({ admin_token_file: file })),
      (e) => e instanceof ConfigError && /first line must hold the token/.test(e.message),
    );
  } finally {
    await Deno.remove(file);
  }
  assert.equal((await loadTokens(new Config())).size, 0);
});

Deno.test("health and readiness answer without a token; everything else needs one", async () => {
  await withHarness(async (h) => {
    assert.deepEqual(await okJson(await h.anonymous("/healthz")), { status: "ok" });
    assert.deepEqual(await okJson(await h.anonymous("/readyz")), { status: "ready" });
    for (const path of ["/metrics", "/v1/stats", "/v1/queue", "/v1/openapi.json", "/v1/config"]) {
      const r = await h.anonymous(path);
      assert.equal(r.headers.get("www-authenticate"), 'Bearer realm="facteur"');
      await assertError(r, 401, "unauthorized", "Authorization: Bearer <token>");
    }
  });
});

Deno.test("401 comes before 404, 405 and every other check, whatever the path or method", async () => {
  await withHarness(async (h) => {
    const cases: [string, RequestInit][] = [
      ["/nope", {}],
      ["/v1/queue/ABC123", { method: "DELETE" }],
      ["/v1/queue/delete", { method: "POST", body: "{" }],
      ["/v1/queue", { method: "HEAD" }],
      ["/healthz", { method: "HEAD" }],
      ["/healthz", { method: "POST" }],
      ["/v1/queue", { method: "OPTIONS" }],
      ["//v1/queue", {}],
      ["/v1/./queue", {}],
      ["/v1/%71ueue", {}],
      ["/%68ealthz", {}],
      ["/healthz/", {}],
      ["/healthz/../v1/queue", {}],
      ["/v1/queue", { headers: { "x-http-method-override": "GET" } }],
      ["/healthz", { method: "DELETE", headers: { "x-http-method-override": "GET" } }],
      ["/v1/queue/flush", { method: "POST", headers: { "content-length": "999999999" } }],
    ];
    for (const [path, init] of cases) {
      const r = await h.anonymous(path, init);
      assert.equal(r.status, 401, `${init.method ?? "GET"} ${path}`);
      assert.equal(r.headers.get("www-authenticate"), 'Bearer realm="facteur"');
      if (init.method !== "HEAD") await assertError(r, 401, "unauthorized");
    }
  }, { admin_auth_failure_limit: "0" });
});

Deno.test("wrong tokens and schemes are refused", async () => {
  await withHarness(async (h) => {
    for (
      const authorization of [
        `Bearer ${TOKEN}x`,
        `Bearer ${TOKEN.slice(0, -1)}`,
        `Basic ${btoa("admin:" + TOKEN)}`,
        `Bearer  `,
        TOKEN,
        `Bearer ${hashToken(TOKEN)}`,
      ]
    ) {
      await assertError(
        await h.anonymous("/v1/stats", { headers: { authorization } }),
        401,
        "unauthorized",
      );
    }
    assert.equal(
      (await h.anonymous("/v1/stats", { headers: { authorization: `bearer ${TOKEN}` } })).status,
      200,
    );
  }, { admin_auth_failure_limit: "0" });
});

Deno.test("with a token, path tricks reach the route they decode to or a 404, never a 500", async () => {
  await withHarness(async (h) => {
    assert.equal((await h.call("/v1/./queue")).status, 200);
    assert.equal((await h.call("/v1/%71ueue")).status, 200);
    assert.equal((await h.call("/v1/queue/x/../../queue")).status, 200);
    await assertError(await h.call("//v1/queue"), 404, "not_found", "no endpoint GET //v1/queue");
    await assertError(await h.call("/v1/queue/"), 404, "not_found");
    await assertError(await h.call("/v1/queue/%E0%A4%A"), 404, "not_found");
    await assertError(await h.call("/v1/queue/abc"), 404, "not_found", "no endpoint");
    await assertError(await h.call("/v1/queue/ABC%2F..%2Fraw"), 404, "not_found");
    await assertError(await h.call("/v1/queue/ABC%00"), 404, "not_found");
    await assertError(
      await h.call("/v1/queue/ABC123"),
      404,
      "not_found",
      "no message with queue id ABC123",
    );
  });
});

Deno.test("method override headers are refused; the real method decides", async () => {
  await withHarness(async (h) => {
    const id = await h.enqueue(["bob@example.net"]);
    for (const header of ["X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override"]) {
      const r = await h.call(`/v1/queue/${id}`, { headers: { [header]: "DELETE" } });
      await assertError(r, 400, "bad_request", `${header.toLowerCase()} is not supported`);
    }
    assert.ok(await h.queue.get(id), "still queued");
    await assertError(
      await h.call(`/v1/queue/${id}?_method=DELETE`),
      400,
      "invalid_parameter",
      "_method",
    );
    assert.ok(await h.queue.get(id), "still queued");
  });
});

Deno.test("405 names the allowed methods; OPTIONS and HEAD are handled", async () => {
  await withHarness(async (h) => {
    const r = await h.call("/v1/queue/shape", { method: "POST" });
    assert.equal(r.headers.get("allow"), "GET, HEAD");
    await assertError(r, 405, "method_not_allowed", "POST is not allowed on /v1/queue/shape");
    const o = await h.call("/v1/queue/ABC123", { method: "OPTIONS" });
    assert.equal(o.headers.get("allow"), "GET, DELETE, HEAD");
    await assertError(o, 405, "method_not_allowed");
    await assertError(
      await h.call("/v1/queue/ABC123/hold", { method: "GET" }),
      405,
      "method_not_allowed",
    );
    await assertError(await h.call("/v1/queue", { method: "PUT" }), 405, "method_not_allowed");
    const head = await h.call("/v1/queue", { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), "");
  });
});

Deno.test("a token from admin_token_file works, and a reload's new tokens replace the old", async () => {
  const dir = await Deno.makeTempDir();
  const file = join(dir, "token");
  await Deno.writeTextFile(file, "file-token\n");
  await Deno.chmod(file, 0o600);
  const h = await harness({ admin_token_file: file });
  try {
    const asFile = { headers: { authorization: "Bearer file-token" } };
    assert.equal((await h.anonymous("/v1/stats", asFile)).status, 200);
    assert.equal((await h.anonymous("/v1/stats", { headers: AUTH })).status, 200);
    h.setConfig({ admin_tokens: hashToken("new-token") }); // a reload: the file is gone from config
    await assertError(await h.anonymous("/v1/stats", asFile), 401, "unauthorized");
    const asNew = { headers: { authorization: "Bearer new-token" } };
    assert.equal((await h.anonymous("/v1/stats", asNew)).status, 200);
    assert.deepEqual(h.log, []);
  } finally {
    await h.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("no token configured: a warning at start, and every authenticated request is 401", async () => {
  await withHarness(async (h) => {
    await h.anonymous("/healthz"); // let the start-up load finish
    assert.deepEqual(h.log, [
      "admin: no admin_tokens or admin_token_file: every request is refused",
    ]);
    await assertError(await h.anonymous("/v1/stats", { headers: AUTH }), 401, "unauthorized");
    await assertError(
      await h.anonymous("/v1/stats", { headers: { authorization: "Bearer " } }),
      401,
      "unauthorized",
    );
    assert.deepEqual(await okJson(await h.anonymous("/healthz")), { status: "ok" });
  }, { admin_tokens: "" });
});

Deno.test("an unreadable token file is logged and refuses everyone (401, not 500)", async () => {
  await withHarness(async (h) => {
    await assertError(await h.anonymous("/v1/stats", { headers: AUTH }), 401, "unauthorized");
    assert.equal(h.log.length, 1);
    assert.match(
      h.log[0],
      /^admin: error: admin_token_file \/nonexistent\/token: .*every request is refused$/,
    );
  }, { admin_token_file: "/nonexistent/token" });
});
