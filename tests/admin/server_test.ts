/** The real listener, driven by the real curl. */
import assert from "node:assert/strict";
import { adminApp, adminListenAddress, startAdminServer } from "../../src/admin/mod.ts";
import { harness, TOKEN } from "./helpers.ts";

async function curl(...args: string[]): Promise<{ status: number; body: Uint8Array }> {
  // -w prints the status after the body, on a line of its own.
  const out = await new Deno.Command("curl", {
    args: ["-sS", "--max-time", "10", "-w", "\n%{http_code}", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const nl = out.stdout.lastIndexOf(10);
  return {
    status: Number(new TextDecoder().decode(out.stdout.subarray(nl + 1))),
    body: out.stdout.subarray(0, nl),
  };
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("startAdminServer on 127.0.0.1:0 answers curl: health, 401, a list, a raw download", async () => {
  const h = await harness();
  const app = adminApp({ ...h.deps, clock: Date.now });
  const server = await startAdminServer(app, { host: "127.0.0.1", port: 0 });
  try {
    assert.equal(server.address.host, "127.0.0.1");
    assert.ok(server.address.port > 0);
    const base = `http://127.0.0.1:${server.address.port}`;
    const auth = ["-H", `Authorization: Bearer ${TOKEN}`];

    const health = await curl(`${base}/healthz`);
    assert.deepEqual([health.status, JSON.parse(text(health.body))], [200, { status: "ok" }]);

    const refused = await curl(`${base}/v1/queue`);
    assert.equal(refused.status, 401);
    assert.equal(JSON.parse(text(refused.body)).error.code, "unauthorized");
    const headers = await curl("-o", "/dev/null", "-D", "-", `${base}/v1/queue`);
    assert.match(text(headers.body), /^www-authenticate: Bearer realm="facteur"\r$/im);

    const content = "Subject: over the wire\r\n\r\n\u00e9t\u00e9\r\n";
    const id = await h.enqueue(["bob@example.net"], { content });
    const list = await curl(...auth, `${base}/v1/queue?limit=10`);
    assert.equal(list.status, 200);
    const listing = JSON.parse(text(list.body));
    assert.deepEqual(listing.messages.map((m: { id: string }) => m.id), [id]);
    assert.equal(listing.next_cursor, null);

    const raw = await curl(...auth, `${base}/v1/queue/${id}/raw`);
    assert.equal(raw.status, 200);
    assert.deepEqual(raw.body, new TextEncoder().encode(content));

    const big = await curl(
      ...auth,
      "-H",
      "Content-Type: application/json",
      "--data-binary",
      "@-",
      `${base}/v1/queue/flush`,
      "-H",
      "Content-Length: 99999999",
    );
    assert.equal(big.status, 413);
  } finally {
    await server.close();
    await h.close();
  }
  // Closed: nothing listens there any more.
  await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port: server.address.port }));
});

Deno.test("startAdminServer rejects when the address is taken", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const h = await harness();
    try {
      await assert.rejects(
        startAdminServer(adminApp(h.deps), {
          host: "127.0.0.1",
          port: (taken.addr as Deno.NetAddr).port,
        }),
        Deno.errors.AddrInUse,
      );
    } finally {
      await h.close();
    }
  } finally {
    taken.close();
  }
});

Deno.test("adminListenAddress: a bare port is loopback only", () => {
  assert.deepEqual(adminListenAddress("8025"), { host: "127.0.0.1", port: 8025 });
  assert.deepEqual(adminListenAddress("0.0.0.0:8025"), { host: "0.0.0.0", port: 8025 });
  assert.deepEqual(adminListenAddress("[::1]:8025"), { host: "::1", port: 8025 });
  assert.deepEqual(adminListenAddress("localhost:80"), { host: "localhost", port: 80 });
  for (const bad of ["", "x", "70000", "::1:8025", "1.2.3.4:", "host:port"]) {
    assert.throws(
      () => adminListenAddress(bad),
      /admin listen .*expected PORT, HOST:PORT or \[IPv6\]:PORT/,
      bad,
    );
  }
});
