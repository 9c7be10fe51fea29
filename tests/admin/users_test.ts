// /v1/users, /v1/domains, /v1/aliases over a real users.sqlite in the harness's data_directory.
import assert from "node:assert/strict";
import { closeSharedUsersStores, openUsersStore } from "../../src/users/mod.ts";
import { assertError, type Harness, JSON_TYPE, okJson, post, withHarness } from "./helpers.ts";

async function withUsers(fn: (h: Harness, dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "facteur-admin-users-" });
  try {
    await withHarness((h) => fn(h, dir), { data_directory: dir });
  } finally {
    closeSharedUsersStores();
    await Deno.remove(dir, { recursive: true });
  }
}

const patch = (body: unknown): RequestInit => ({
  method: "PATCH",
  headers: JSON_TYPE,
  body: JSON.stringify(body),
});
const del: RequestInit = { method: "DELETE" };

Deno.test("create a domain and a user, read it back; no password or hash ever comes out", async () => {
  await withUsers(async (h, dir) => {
    const d = await okJson(await h.call("/v1/domains", post({ name: "Example.COM" })), 201);
    assert.deepEqual({ ...d as object, created: "-" }, {
      name: "example.com",
      note: "",
      users: 0,
      created: "-",
    });
    const created = await h.call(
      "/v1/users",
      post({ address: "Alice@example.com", password: "s3cret pw", quota: "1G" }),
    );
    const text = await created.text();
    assert.equal(created.status, 201, text);
    assert.doesNotMatch(text, /s3cret|argon2id\$/);
    const account = JSON.parse(text);
    assert.equal(account.address, "alice@example.com");
    assert.equal(account.quota, 2 ** 30);
    assert.equal(account.maildir, "example.com/alice/");
    assert.equal(account.password_scheme, "ARGON2ID");
    assert.equal("password" in account, false);
    // By %40 or by @, the same user.
    const byEncoded = await okJson(await h.call("/v1/users/alice%40example.com"));
    assert.deepEqual(byEncoded, account);
    assert.deepEqual(await okJson(await h.call("/v1/users/ALICE@example.com")), account);
    // The password works: the store the CLI opens agrees.
    const store = openUsersStore(dir);
    try {
      assert.ok(await store.authenticate("alice@example.com", "s3cret pw"));
    } finally {
      store.close();
    }
    const list = await okJson(await h.call("/v1/users")) as { users: unknown[]; next_cursor: null };
    assert.deepEqual(list, { users: [account], next_cursor: null });
    const domain = await okJson(await h.call("/v1/domains/example.com")) as { users: number };
    assert.equal(domain.users, 1);
  });
});

Deno.test("users are paged with an opaque cursor and filtered by domain", async () => {
  await withUsers(async (h) => {
    await okJson(await h.call("/v1/domains", post({ name: "a.test" })), 201);
    await okJson(await h.call("/v1/domains", post({ name: "b.test" })), 201);
    for (const address of ["u1@a.test", "u2@a.test", "u3@a.test", "v@b.test"]) {
      await okJson(await h.call("/v1/users", post({ address, password: "pw" })), 201);
    }
    type Page = { users: { address: string }[]; next_cursor: string | null };
    const p1 = await okJson(await h.call("/v1/users?domain=a.test&limit=2")) as Page;
    assert.deepEqual(p1.users.map((u) => u.address), ["u1@a.test", "u2@a.test"]);
    assert.ok(p1.next_cursor);
    const p2 = await okJson(
      await h.call(`/v1/users?domain=a.test&limit=2&cursor=${p1.next_cursor}`),
    ) as Page;
    assert.deepEqual(p2.users.map((u) => u.address), ["u3@a.test"]);
    assert.equal(p2.next_cursor, null);
    await assertError(await h.call("/v1/users?cursor=zzz"), 400, "invalid_parameter", "cursor");
    await assertError(await h.call("/v1/users?limit=0"), 400, "invalid_parameter", "limit");
    await assertError(
      await h.call("/v1/users?sort=x"),
      400,
      "invalid_parameter",
      "unknown parameter",
    );
  });
});

Deno.test("PATCH changes password, quota and enabled together; DELETE removes", async () => {
  await withUsers(async (h, dir) => {
    await h.call("/v1/domains", post({ name: "a.test" }));
    await okJson(await h.call("/v1/users", post({ address: "bob@a.test", password: "old" })), 201);
    const changed = await okJson(
      await h.call("/v1/users/bob@a.test", patch({ password: "new", quota: 1000, enabled: false })),
    ) as { quota: number; enabled: boolean };
    assert.equal(changed.quota, 1000);
    assert.equal(changed.enabled, false);
    const store = openUsersStore(dir);
    try {
      assert.equal(await store.authenticate("bob@a.test", "new"), undefined, "disabled");
      await okJson(await h.call("/v1/users/bob@a.test", patch({ enabled: true })));
      assert.ok(await store.authenticate("bob@a.test", "new"));
      assert.equal(await store.authenticate("bob@a.test", "old"), undefined);
    } finally {
      store.close();
    }
    assert.deepEqual(await okJson(await h.call("/v1/users/bob@a.test", del)), { deleted: 1 });
    await assertError(
      await h.call("/v1/users/bob@a.test"),
      404,
      "not_found",
      "no such user bob@a.test",
    );
    await assertError(await h.call("/v1/users/bob@a.test", del), 404, "not_found");
    await assertError(await h.call("/v1/users/bob@a.test", patch({ quota: 1 })), 404, "not_found");
  });
});

Deno.test("user errors: exists, no such domain, bad syntax, bad fields — each named", async () => {
  await withUsers(async (h) => {
    await h.call("/v1/domains", post({ name: "a.test" }));
    await okJson(await h.call("/v1/users", post({ address: "al@a.test", password: "pw" })), 201);
    await assertError(
      await h.call("/v1/users", post({ address: "AL@a.test", password: "pw" })),
      409,
      "conflict",
      "user al@a.test exists",
    );
    await assertError(
      await h.call("/v1/users", post({ address: "x@nowhere.test", password: "pw" })),
      409,
      "conflict",
      "no such domain nowhere.test",
    );
    await assertError(
      await h.call("/v1/users", post({ address: "no at sign", password: "pw" })),
      400,
      "invalid_parameter",
      "bad address",
    );
    await assertError(
      await h.call("/v1/users", post({ address: "y@a.test" })),
      400,
      "invalid_parameter",
      "password: must be a string",
    );
    await assertError(
      await h.call("/v1/users", post({ address: "y@a.test", password: "" })),
      400,
      "invalid_parameter",
      "empty password",
    );
    await assertError(
      await h.call("/v1/users", post({ address: "y@a.test", password: "p", quota: "lots" })),
      400,
      "invalid_parameter",
      "bad quota",
    );
    await assertError(
      await h.call("/v1/users", post({ address: "y@a.test", password: "p", admin: true })),
      400,
      "invalid_parameter",
      "admin: unknown field",
    );
    await assertError(
      await h.call("/v1/users/al@a.test", patch({})),
      400,
      "bad_request",
      "nothing to change",
    );
    await assertError(
      await h.call("/v1/users/al@a.test", patch({ enabled: "yes" })),
      400,
      "invalid_parameter",
      "enabled: must be true or false",
    );
    await assertError(await h.call("/v1/users", post("{not json")), 400, "invalid_json");
    await assertError(await h.anonymous("/v1/users"), 401, "unauthorized");
    await assertError(await h.call("/v1/users/al@a.test", post({})), 405, "method_not_allowed");
  });
});

Deno.test("domains: exists, delete refused with users unless force=true", async () => {
  await withUsers(async (h) => {
    await okJson(await h.call("/v1/domains", post({ name: "a.test", note: "main" })), 201);
    await assertError(
      await h.call("/v1/domains", post({ name: "a.test" })),
      409,
      "conflict",
      "exists",
    );
    await assertError(
      await h.call("/v1/domains", post({ name: "bad_name!" })),
      400,
      "invalid_parameter",
      "name: bad domain name",
    );
    await h.call("/v1/users", post({ address: "al@a.test", password: "pw" }));
    await assertError(
      await h.call("/v1/domains/a.test", del),
      409,
      "conflict",
      "has 1 user(s); delete them first or add ?force=true",
    );
    assert.deepEqual(await okJson(await h.call("/v1/domains/a.test?force=true", del)), {
      deleted: 1,
      users_deleted: 1,
    });
    await assertError(
      await h.call("/v1/domains/a.test"),
      404,
      "not_found",
      "no such domain a.test",
    );
    assert.deepEqual(await okJson(await h.call("/v1/domains")), { domains: [] });
    assert.deepEqual(await okJson(await h.call("/v1/users")), { users: [], next_cursor: null });
  });
});

Deno.test("aliases: create, catch-all, replace targets, delete; bad targets named", async () => {
  await withUsers(async (h) => {
    const a = await okJson(
      await h.call("/v1/aliases", post({ address: "Sales@a.test", targets: ["x@b.test", "y"] })),
      201,
    ) as { address: string; targets: string[] };
    assert.deepEqual([a.address, a.targets], ["sales@a.test", ["x@b.test", "y"]]);
    await okJson(
      await h.call("/v1/aliases", post({ address: "@a.test", targets: ["x@b.test"] })),
      201,
    );
    const one = await okJson(await h.call("/v1/aliases/%40a.test")) as { targets: string[] };
    assert.deepEqual(one.targets, ["x@b.test"]);
    await assertError(
      await h.call("/v1/aliases", post({ address: "sales@a.test", targets: ["z@b.test"] })),
      409,
      "conflict",
      "alias sales@a.test exists",
    );
    const replaced = await okJson(
      await h.call("/v1/aliases/sales@a.test", patch({ targets: ["z@b.test"] })),
    ) as { targets: string[] };
    assert.deepEqual(replaced.targets, ["z@b.test"]);
    await assertError(
      await h.call("/v1/aliases/sales@a.test", patch({ targets: ["|/bin/sh"] })),
      400,
      "invalid_parameter",
      "targets: bad alias target",
    );
    await assertError(
      await h.call("/v1/aliases", post({ address: "q@a.test", targets: "x@b.test" })),
      400,
      "invalid_parameter",
      "targets: must be an array",
    );
    const list = await okJson(await h.call("/v1/aliases?domain=a.test")) as {
      aliases: { address: string }[];
    };
    assert.deepEqual(list.aliases.map((x) => x.address), ["@a.test", "sales@a.test"]);
    assert.deepEqual(await okJson(await h.call("/v1/aliases/sales@a.test", del)), { deleted: 1 });
    await assertError(await h.call("/v1/aliases/sales@a.test"), 404, "not_found", "no such alias");
  });
});

Deno.test("a missing data_directory answers 503, not a crash", async () => {
  await withHarness(async (h) => {
    await assertError(await h.call("/v1/domains"), 503, "not_ready", "users database unavailable");
  }, { data_directory: "/nonexistent/facteur-test" });
});
