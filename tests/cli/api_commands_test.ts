/**
 * `facteur queue ...`, `status` and `reload` when an admin service is
 * configured and the server runs: they talk to the API. A fake API on
 * 127.0.0.1:0 records the requests; a stand-in process whose command line
 * says "serve" is the running server of the pid file.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT } from "../e2e/harness.ts";

const dec = (b: Uint8Array) => new TextDecoder().decode(b);

const SUMMARY = {
  id: "AAA111",
  queue: "deferred",
  sender: "alice@example.test",
  arrival_time: "2026-11-23T10:00:00.000Z",
  size: 2048,
  attempts: 2,
  next_attempt: "2026-11-23T11:00:00.000Z",
  recipients: [{
    address: "bob@remote.test",
    status: "deferred",
    dsn: "4.4.1",
    reason: "connection refused",
  }],
};

interface Api {
  port: number;
  seen: string[];
  close(): Promise<void>;
}

function startApi(): Api {
  const seen: string[] = [];
  const ac = new AbortController();
  const err = (status: number, code: string, message: string, extra = {}) =>
    Response.json({ error: { code, message, ...extra } }, { status });
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    signal: ac.signal,
    onListen: () => {},
  }, async (req) => {
    const url = new URL(req.url);
    const body = ["GET", "DELETE"].includes(req.method) ? "" : await req.text();
    const route = `${req.method} ${url.pathname}`;
    if (url.pathname !== "/readyz") {
      seen.push(
        `${route}${url.search}${body ? ` ${body}` : ""} [${req.headers.get("authorization")}]`,
      );
    }
    if (route === "GET /readyz") return Response.json({ status: "ready" });
    if (req.headers.get("authorization") !== "Bearer s3cret") {
      return err(401, "unauthorized", "a valid bearer token is required");
    }
    switch (route) {
      case "GET /v1/queue":
        return Response.json({ messages: [SUMMARY], next_cursor: null });
      case "GET /v1/queue/AAA111":
        return Response.json({
          ...SUMMARY,
          envelope: {
            ret: null,
            envid: null,
            body_type: "8BITMIME",
            smtputf8: false,
            recipients: [{
              address: "bob@remote.test",
              original: null,
              notify: null,
              orcpt: null,
              status: "deferred",
              dsn: "4.4.1",
              reason: "connection refused",
              relay: "remote.test[192.0.2.1]:25",
              attempts: 2,
            }],
          },
        });
      case "GET /v1/queue/AAA111/raw":
        return new Response("Subject: raw\r\n\r\nbody\r\n", {
          headers: { "content-type": "message/rfc822" },
        });
      case "GET /v1/queue/shape":
        return Response.json({
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
          rows: [{ domain: "remote.test", total: 3, counts: [0, 0, 0, 0, 0, 0, 3, 0, 0, 0] }],
          total: { total: 3, counts: [0, 0, 0, 0, 0, 0, 3, 0, 0, 0] },
        });
      case "POST /v1/queue/AAA111/hold":
        return Response.json({ changed: 1 });
      case "POST /v1/queue/ZZZ999/hold":
        return err(404, "not_found", "no message with id ZZZ999");
      case "POST /v1/queue/delete":
        return Response.json({ matched: 1, changed: 1 });
      case "POST /v1/queue/flush":
        return Response.json({ due: 4 });
      case "POST /v1/reload":
        return err(
          422,
          "invalid_config",
          "the new configuration has problems; the old one keeps running",
          {
            problems: ['/etc/facteur/facteur.toml:2: unknown parameter "mydestinaton"'],
          },
        );
    }
    return err(404, "not_found", `no route ${route}`);
  });
  return {
    port: server.addr.port,
    seen,
    close: async () => {
      ac.abort();
      await server.finished;
    },
  };
}

async function facteur(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", join(ROOT, "mod.ts"), ...args],
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: dec(out.stdout), stderr: dec(out.stderr) };
}

async function withSetup(fn: (config: string, api: Api, pid: number) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "facteur-apicmd-" });
  const api = startApi();
  // Looks like a server to the pid-file check (its command line has "serve"); ": " keeps sh from exec'ing sleep.
  const stand = new Deno.Command("sh", { args: ["-c", "sleep 60; :", "serve"] }).spawn();
  try {
    const config = join(dir, "facteur.toml");
    await Deno.writeTextFile(
      config,
      `data_directory = "./data"\nadmin_token_file = "./token"\n` +
        `[services.admin]\ncommand = "admin"\nlisten = "127.0.0.1:${api.port}"\n`,
    );
    await Deno.writeTextFile(join(dir, "token"), "s3cret\n", { mode: 0o600 });
    await Deno.mkdir(join(dir, "data"));
    await Deno.writeTextFile(join(dir, "data", "facteur.pid"), `${stand.pid}\n`);
    await fn(config, api, stand.pid);
  } finally {
    stand.kill("SIGKILL");
    await stand.status;
    await api.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("queue list/show/cat/shape go through the admin API with the token from admin_token_file", async () => {
  await withSetup(async (config, api) => {
    const list = await facteur(["queue", "list", "-c", config, "--queue", "deferred"]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(
      list.stdout,
      /^AAA111 +2048 \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d {2}alice@example\.test$/m,
    );
    assert.match(list.stdout, /\(connection refused\)\n +bob@remote\.test\n/);
    assert.deepEqual(api.seen, ["GET /v1/queue?queue=deferred&limit=1000 [Bearer s3cret]"]);

    const show = await facteur(["queue", "show", "AAA111", "-c", config]);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /^body: +8BITMIME$/m);
    assert.match(
      show.stdout,
      /^ {2}deferred bob@remote\.test \(2 attempts\)\n {11}4\.4\.1 connection refused\n {11}relay remote\.test\[192\.0\.2\.1\]:25\n$/m,
    );
    const cat = await facteur(["queue", "cat", "AAA111", "-c", config]);
    assert.equal(cat.stdout, "Subject: raw\r\n\r\nbody\r\n");
    const shape = await facteur(["queue", "shape", "-c", config, "--queue", "deferred"]);
    assert.equal(
      shape.stdout,
      "             T  5 10 20 40 80 160 320 640 1280 1280+\n" +
        "      TOTAL  3  0  0  0  0  0   0   3   0    0     0\n" +
        "remote.test  3  0  0  0  0  0   0   3   0    0     0\n",
    );
    assert.equal(api.seen.at(-1), "GET /v1/queue/shape?queue=deferred [Bearer s3cret]");
  });
});

Deno.test("queue hold/delete ALL/flush through the API; errors name the problem; --direct bypasses it", async () => {
  await withSetup(async (config, api) => {
    let r = await facteur(["queue", "hold", "AAA111", "ZZZ999", "-c", config]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "facteur: queue: Placed on hold: 1 message\n");
    assert.equal(r.stderr, "facteur: queue: no message with id ZZZ999\n");
    api.seen.length = 0;
    r = await facteur(["queue", "delete", "ALL", "-c", config]);
    assert.equal(r.stdout, "facteur: queue: Deleted: 1 message\n");
    assert.deepEqual(api.seen, [
      "GET /v1/queue?limit=1000 [Bearer s3cret]",
      'POST /v1/queue/delete {"ids":["AAA111"]} [Bearer s3cret]',
    ]);
    r = await facteur(["queue", "flush", "-c", config]);
    assert.match(r.stdout, /^facteur: queue: 4 messages due now; server \(pid \d+\) woken\n$/);
    // a wrong token: 401, and the message says where the token came from
    r = await facteur(["queue", "show", "AAA111", "-c", config, "--token", "wrong"]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      "facteur: queue: a valid bearer token is required (HTTP 401 unauthorized); the token from --token was refused\n",
    );
    r = await facteur(["queue", "list", "-c", config], { FACTEUR_ADMIN_TOKEN: "wrong" });
    assert.match(r.stderr, /the token from \$FACTEUR_ADMIN_TOKEN was refused/);
    api.seen.length = 0;
    r = await facteur(["queue", "list", "--direct", "-c", config]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "Mail queue is empty\n");
    assert.deepEqual(api.seen, []);
  });
});

Deno.test("status asks /readyz; reload prints the refused configuration's problems", async () => {
  await withSetup(async (config, api, pid) => {
    const status = await facteur(["status", "-c", config]);
    assert.equal(status.code, 0, status.stderr);
    assert.equal(
      status.stdout,
      `facteur is running (pid ${pid}); admin API http://127.0.0.1:${api.port}: ready\n`,
    );
    const reload = await facteur(["reload", "-c", config]);
    assert.equal(reload.code, 1);
    assert.equal(
      reload.stderr,
      "facteur: reload refused, the running configuration stays: the new configuration has problems; " +
        'the old one keeps running\n  /etc/facteur/facteur.toml:2: unknown parameter "mydestinaton"\n',
    );
    assert.equal(api.seen.at(-1), "POST /v1/reload {} [Bearer s3cret]");
  });
});
