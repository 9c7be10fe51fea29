// The admin API client against a tiny fake server on 127.0.0.1:0: what it sends, and error answers → messages.
import assert from "node:assert/strict";
import {
  AdminApiError,
  AdminClient,
  adminEndpoint,
  adminUrl,
  chooseToken,
  query,
} from "../../src/cli/admin_client.ts";
import { parseConfig } from "../../src/config/mod.ts";

interface Seen {
  method: string;
  path: string;
  auth: string | null;
  type: string | null;
  body: string;
}

async function withFake(
  answer: (req: Request, url: URL) => Response | Promise<Response>,
  fn: (base: string, seen: Seen[]) => Promise<void>,
) {
  const seen: Seen[] = [];
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
    async (req) => {
      const url = new URL(req.url);
      seen.push({
        method: req.method,
        path: url.pathname + url.search,
        auth: req.headers.get("authorization"),
        type: req.headers.get("content-type"),
        body: await req.text(),
      });
      return answer(req, url);
    },
  );
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`, seen);
  } finally {
    ac.abort();
    await server.finished;
  }
}

const error = (status: number, code: string, message: string, extra: object = {}, headers = {}) =>
  Response.json({ error: { code, message, ...extra } }, { status, headers });

Deno.test("admin client: bearer token, JSON body with its content type, parsed answer", async () => {
  await withFake(() => Response.json({ changed: 1 }), async (base, seen) => {
    const client = new AdminClient(base, "tok-1");
    assert.deepEqual(await client.json("POST", "/v1/queue/ABC/hold", {}), { changed: 1 });
    assert.deepEqual(seen[0], {
      method: "POST",
      path: "/v1/queue/ABC/hold",
      auth: "Bearer tok-1",
      type: "application/json",
      body: "{}",
    });
    await client.json(
      "GET",
      "/v1/queue" + query({ queue: "deferred", sender: "", domain: undefined }),
    );
    assert.equal(seen[1].path, "/v1/queue?queue=deferred&sender=");
    assert.equal(seen[1].type, null);
  });
});

Deno.test("admin client: error answers become messages naming the problem", async () => {
  const answers: Record<string, Response> = {};
  await withFake(
    (_req, url) => answers[url.pathname]?.clone() ?? new Response("?", { status: 500 }),
    async (base) => {
      answers["/401"] = error(401, "unauthorized", "a valid bearer token is required");
      answers["/404"] = error(404, "not_found", "no message with id NOPE");
      answers["/422"] = error(422, "invalid_config", "the configuration has problems", {
        problems: ['/etc/facteur/facteur.toml:3: unknown parameter "mydestinaton"'],
      });
      answers["/429"] = error(429, "too_many_failures", "too many failed attempts", {}, {
        "retry-after": "42",
      });
      answers["/502"] = new Response("<html>bad gateway</html>", { status: 502 });
      const client = new AdminClient(base, "t");
      const failure = async (path: string) => {
        try {
          await client.json("GET", path);
        } catch (e) {
          assert.ok(e instanceof AdminApiError);
          return e;
        }
        throw new Error("no error");
      };
      let e = await failure("/401");
      assert.equal(e.status, 401);
      assert.equal(
        e.describe("$FACTEUR_ADMIN_TOKEN"),
        "a valid bearer token is required (HTTP 401 unauthorized); the token from $FACTEUR_ADMIN_TOKEN was refused",
      );
      assert.match(
        e.describe(),
        /no token: set admin_token_file, \$FACTEUR_ADMIN_TOKEN or --token$/,
      );
      e = await failure("/404");
      assert.equal(e.describe(), "no message with id NOPE (HTTP 404 not_found)");
      e = await failure("/422");
      assert.equal(e.code, "invalid_config");
      assert.equal(
        e.describe(),
        'the configuration has problems (HTTP 422 invalid_config)\n  /etc/facteur/facteur.toml:3: unknown parameter "mydestinaton"',
      );
      e = await failure("/429");
      assert.equal(
        e.describe(),
        "too many failed attempts (HTTP 429 too_many_failures); retry after 42s",
      );
      e = await failure("/502");
      assert.equal(e.describe(), "<html>bad gateway</html> (HTTP 502 http_502)");
    },
  );
});

Deno.test("admin client: nobody listening is status 0, 'unreachable'; /readyz 503 is not ready", async () => {
  let base = "";
  await withFake(() => error(503, "not_ready", "starting"), async (b) => {
    base = b;
    assert.equal(await new AdminClient(b).ready(), false);
  });
  // the fake is gone now: the same address refuses connections
  try {
    await new AdminClient(base, "t", fetch, 2000).json("GET", "/v1/stats");
    assert.fail("expected an error");
  } catch (e) {
    assert.ok(e instanceof AdminApiError);
    assert.equal(e.status, 0);
    assert.match(e.describe(), /^admin API unreachable: http:\/\/127\.0\.0\.1:\d+: /);
  }
});

Deno.test("admin endpoint from [services.X] command = admin; a bare port means loopback", () => {
  assert.equal(adminUrl("8025"), "http://127.0.0.1:8025");
  assert.equal(adminUrl("127.0.0.1:8025"), "http://127.0.0.1:8025");
  assert.equal(adminUrl("0.0.0.0:8025"), "http://127.0.0.1:8025");
  assert.equal(adminUrl("[::1]:8025"), "http://[::1]:8025");
  assert.equal(adminUrl("[::]:8025"), "http://[::1]:8025");
  assert.equal(adminUrl("admin"), undefined);
  const config = parseConfig(
    '[services.smtp]\nlisten = "127.0.0.1:25"\n[services.api]\ncommand = "admin"\nlisten = "8025"\n',
    "/etc/facteur/facteur.toml",
  );
  assert.deepEqual(adminEndpoint(config), { service: "api", url: "http://127.0.0.1:8025" });
  assert.equal(
    adminEndpoint(parseConfig('[services.smtp]\nlisten = "25"\n', "/x.toml")),
    undefined,
  );
});

Deno.test("token choice: --token, then $FACTEUR_ADMIN_TOKEN, then admin_token_file's first line", () => {
  const config = parseConfig('admin_token_file = "/secret/token"\n', "/etc/facteur/facteur.toml");
  const env = (v?: string) => (name: string) => name === "FACTEUR_ADMIN_TOKEN" ? v : undefined;
  const file = (text: string) => (path: string) => {
    assert.equal(path, "/secret/token");
    return text;
  };
  assert.deepEqual(chooseToken(config, "opt", env("envtok"), file("x")), {
    token: "opt",
    source: "--token",
  });
  assert.deepEqual(chooseToken(config, undefined, env("envtok"), file("x")), {
    token: "envtok",
    source: "$FACTEUR_ADMIN_TOKEN",
  });
  assert.deepEqual(chooseToken(config, undefined, env(), file("filetok \nsecond\n")), {
    token: "filetok",
    source: "admin_token_file /secret/token",
  });
  const unreadable = chooseToken(config, undefined, env(), () => {
    throw new Deno.errors.PermissionDenied("Permission denied (os error 13)");
  });
  assert.equal(unreadable.token, undefined);
  assert.match(
    unreadable.problem!,
    /^cannot read admin_token_file \/secret\/token: Permission denied/,
  );
  assert.deepEqual(chooseToken(parseConfig("", "/x.toml"), undefined, env(), file("")), {});
});
