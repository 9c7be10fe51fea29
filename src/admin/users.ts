/**
 * The users, domains and aliases routes: the same store and rules as
 * `facteur user|domain|alias`. Passwords go in, never out (not even hashes).
 * The store is $data_directory/users.sqlite, shared with the facteur: tables
 * of this process.
 */
import type { Context } from "hono";
import { accountJson, aliasJson, domainJson } from "../users/json.ts";
import { sharedUsersStore, UsersError, type UsersStore } from "../users/mod.ts";
import { usersStoreOptions } from "../users/options.ts";
import { onlyKeys, readJsonObject } from "./body.ts";
import { AdminError, invalidParameter } from "./errors.ts";
import { booleanParam, domainParam, LIMIT_MAX, limitParam } from "./params.ts";
import type { Route, RouteContext } from "./routes.ts";
import { ref } from "./schemas.ts";
import type { AdminDeps, AdminEnv } from "./types.ts";

// ---- shapes for the document ----

const str = { type: "string" };
const time = { type: "string", format: "date-time" };
const object = (properties: Record<string, unknown>, required = Object.keys(properties)) => ({
  type: "object",
  properties,
  required,
  additionalProperties: false,
});
const quota = {
  type: ["integer", "string"],
  description: 'bytes (0 = none), or a size such as "500M", "1G"',
};
const ACCOUNT = object({
  address: str,
  domain: str,
  quota: { type: "integer", minimum: 0 },
  enabled: { type: "boolean" },
  maildir: { type: "string", description: "relative to virtual_mailbox_base; / = Maildir" },
  password_scheme: { type: ["string", "null"], description: "ARGON2ID, SHA512-CRYPT..." },
  created: time,
  updated: time,
});
const DOMAIN = object({ name: str, note: str, users: { type: "integer" }, created: time });
const ALIAS = object({
  address: str,
  targets: { type: "array", items: str, minItems: 1 },
  created: time,
  updated: time,
});
const DELETED = object({ deleted: { const: 1 } });
const ERROR = (description: string) => ({ description, schema: ref("Error") });

// ---- helpers ----

/** The process's store of the configured data_directory; 503 when that directory is missing. */
function storeOf(deps: AdminDeps): UsersStore {
  const config = deps.config();
  const dir = config.path("data_directory");
  try {
    Deno.statSync(dir);
  } catch (e) {
    throw new AdminError("not_ready", `users database unavailable: ${(e as Error).message}`);
  }
  return sharedUsersStore(dir, usersStoreOptions(config));
}

/** A store error as an API error; `field` names the body field a syntax error is about. */
function asAdminError(e: unknown, field?: string): unknown {
  if (!(e instanceof UsersError)) return e;
  if (e.kind === "invalid") {
    return new AdminError("invalid_parameter", field ? `${field}: ${e.message}` : e.message);
  }
  return new AdminError(e.kind === "not_found" ? "not_found" : "conflict", e.message);
}

async function call<T>(fn: () => Promise<T>, field?: string): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw asAdminError(e, field);
  }
}

function stringField(body: Record<string, unknown>, name: string, required: boolean) {
  const value = body[name];
  if (value === undefined && !required) return undefined;
  if (typeof value !== "string") throw invalidParameter(name, "must be a string");
  return value;
}

function quotaField(body: Record<string, unknown>): number | string | undefined {
  const value = body.quota;
  if (value === undefined) return undefined;
  if (typeof value !== "number" && typeof value !== "string") {
    throw invalidParameter("quota", 'must be a number of bytes or a size such as "1G"');
  }
  return value;
}

function booleanField(body: Record<string, unknown>, name: string): boolean | undefined {
  const value = body[name];
  if (value !== undefined && typeof value !== "boolean") {
    throw invalidParameter(name, "must be true or false");
  }
  return value as boolean | undefined;
}

function targetsField(body: Record<string, unknown>): string[] {
  const value = body.targets;
  if (!Array.isArray(value) || !value.every((t) => typeof t === "string")) {
    throw invalidParameter("targets", "must be an array of addresses");
  }
  return value;
}

/** The opaque cursor of a page: base64url of the last address. */
function encodeCursor(address: string): string {
  const bytes = new TextEncoder().encode(address);
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_")
    .replace(/=+$/, "");
}

function decodeCursor(value: string): string {
  try {
    if (/^[A-Za-z0-9_-]{1,400}$/.test(value)) {
      const binary = atob(value.replace(/-/g, "+").replace(/_/g, "/"));
      const text = new TextDecoder("utf-8", { fatal: true })
        .decode(Uint8Array.from(binary, (ch) => ch.charCodeAt(0)));
      if (text.includes("@")) return text;
    }
  } catch {
    // refused below
  }
  throw invalidParameter("cursor", "not a cursor this server gave (use next_cursor as is)");
}

const param = (c: Context<AdminEnv>, name: string) => c.req.param(name) as string;

function noSuch(what: string, key: string): AdminError {
  return new AdminError("not_found", `no such ${what} ${key.toLowerCase()}`);
}

// ---- handlers ----

async function listUsers(c: Context<AdminEnv>, { deps, query }: RouteContext) {
  const limit = limitParam(query.get("limit"));
  const cursor = query.get("cursor");
  const domain = query.get("domain");
  const filter = {
    limit,
    cursor: cursor === undefined ? undefined : decodeCursor(cursor),
    domain: domain === undefined ? undefined : domainParam("domain", domain),
  };
  const page = await call(() => storeOf(deps).list(filter), "domain");
  return c.json({
    users: page.users.map(accountJson),
    next_cursor: page.next ? encodeCursor(page.next) : null,
  });
}

async function createUser(c: Context<AdminEnv>, { deps, bodyLimit }: RouteContext) {
  const body = await readJsonObject(c.req.raw, bodyLimit);
  onlyKeys(body, ["address", "password", "quota", "maildir", "enabled"]);
  const address = stringField(body, "address", true)!;
  const user = {
    password: stringField(body, "password", true),
    quota: quotaField(body),
    maildir: stringField(body, "maildir", false),
    enabled: booleanField(body, "enabled"),
  };
  const store = storeOf(deps);
  try {
    await store.checkNewUser(address, user);
  } catch (e) {
    // A missing domain is a state the request conflicts with, not a missing endpoint.
    if (e instanceof UsersError && e.kind === "not_found") {
      throw new AdminError("conflict", e.message);
    }
    throw asAdminError(e);
  }
  const account = await call(() => store.add(address, user));
  return c.json(accountJson(account), 201);
}

async function getUser(c: Context<AdminEnv>, { deps }: RouteContext) {
  const account = await storeOf(deps).get(param(c, "address"));
  if (!account) throw noSuch("user", param(c, "address"));
  return c.json(accountJson(account));
}

async function patchUser(c: Context<AdminEnv>, { deps, bodyLimit }: RouteContext) {
  const body = await readJsonObject(c.req.raw, bodyLimit);
  onlyKeys(body, ["password", "quota", "enabled", "maildir"]);
  if (Object.keys(body).length === 0) {
    throw new AdminError(
      "bad_request",
      "nothing to change: give password, quota, enabled or maildir",
    );
  }
  const changes = {
    password: stringField(body, "password", false),
    quota: quotaField(body),
    enabled: booleanField(body, "enabled"),
    maildir: stringField(body, "maildir", false),
  };
  const address = param(c, "address");
  const store = storeOf(deps);
  if (!(await store.get(address))) throw noSuch("user", address);
  return c.json(accountJson(await call(() => store.update(address, changes))));
}

async function deleteUser(c: Context<AdminEnv>, { deps }: RouteContext) {
  const address = param(c, "address");
  const store = storeOf(deps);
  if (!(await store.get(address))) throw noSuch("user", address);
  await call(() => store.del(address));
  return c.json({ deleted: 1 });
}

async function createDomain(c: Context<AdminEnv>, { deps, bodyLimit }: RouteContext) {
  const body = await readJsonObject(c.req.raw, bodyLimit);
  onlyKeys(body, ["name", "note"]);
  const name = stringField(body, "name", true)!;
  const note = stringField(body, "note", false);
  const domain = await call(() => storeOf(deps).addDomain(name, note), "name");
  return c.json(domainJson(domain), 201);
}

async function getDomain(c: Context<AdminEnv>, { deps }: RouteContext) {
  const domain = await storeOf(deps).getDomain(param(c, "name"));
  if (!domain) throw noSuch("domain", param(c, "name"));
  return c.json(domainJson(domain));
}

async function deleteDomain(c: Context<AdminEnv>, { deps, query }: RouteContext) {
  const force = booleanParam("force", query.get("force"));
  const name = param(c, "name");
  const store = storeOf(deps);
  if (!(await store.getDomain(name))) throw noSuch("domain", name);
  const { usersDeleted } = await call(() =>
    store.delDomain(name, { force }).catch((e) => {
      if (e instanceof UsersError && e.kind === "conflict") {
        throw new UsersError("conflict", e.message.replace("or force it", "or add ?force=true"));
      }
      throw e;
    })
  );
  return c.json({ deleted: 1, users_deleted: usersDeleted });
}

async function createAlias(c: Context<AdminEnv>, { deps, bodyLimit }: RouteContext) {
  const body = await readJsonObject(c.req.raw, bodyLimit);
  onlyKeys(body, ["address", "targets"]);
  const address = stringField(body, "address", true)!;
  const targets = targetsField(body);
  const alias = await call(() => storeOf(deps).addAlias(address, targets));
  return c.json(aliasJson(alias), 201);
}

async function getAlias(c: Context<AdminEnv>, { deps }: RouteContext) {
  const alias = await storeOf(deps).getAlias(param(c, "address"));
  if (!alias) throw noSuch("alias", param(c, "address"));
  return c.json(aliasJson(alias));
}

async function patchAlias(c: Context<AdminEnv>, { deps, bodyLimit }: RouteContext) {
  const body = await readJsonObject(c.req.raw, bodyLimit);
  onlyKeys(body, ["targets"]);
  const targets = targetsField(body);
  const address = param(c, "address");
  const store = storeOf(deps);
  if (!(await store.getAlias(address))) throw noSuch("alias", address);
  const alias = await call(() => store.addAlias(address, targets, { replace: true }), "targets");
  return c.json(aliasJson(alias));
}

async function deleteAlias(c: Context<AdminEnv>, { deps }: RouteContext) {
  const address = param(c, "address");
  const store = storeOf(deps);
  if (!(await store.getAlias(address))) throw noSuch("alias", address);
  await call(() => store.delAlias(address));
  return c.json({ deleted: 1 });
}

const DOMAIN_QUERY = {
  name: "domain",
  schema: str,
  description: "only this domain's entries",
};

export const USERS_ROUTES: Route[] = [
  {
    method: "GET",
    path: "/v1/users",
    operationId: "listUsers",
    summary: "facteur user list: users in address order, a page at a time",
    query: [
      DOMAIN_QUERY,
      {
        name: "limit",
        schema: { type: "integer", minimum: 1, maximum: LIMIT_MAX, default: 100 },
        description: `users per page, 1 to ${LIMIT_MAX}`,
      },
      { name: "cursor", schema: str, description: "next_cursor of the previous page" },
    ],
    responses: {
      200: {
        description: "one page",
        schema: object({
          users: { type: "array", items: ACCOUNT },
          next_cursor: { type: ["string", "null"] },
        }),
      },
    },
    handle: listUsers,
  },
  {
    method: "POST",
    path: "/v1/users",
    operationId: "createUser",
    summary: "facteur user add: the domain must exist; the password is stored as Argon2id",
    body: object({
      address: str,
      password: { type: "string", minLength: 1 },
      quota,
      maildir: str,
      enabled: { type: "boolean" },
    }, ["address", "password"]),
    responses: {
      201: { description: "the new user", schema: ACCOUNT },
      409: ERROR("the user exists, or its domain does not"),
    },
    handle: createUser,
  },
  {
    method: "GET",
    path: "/v1/users/{address}",
    operationId: "getUser",
    summary: "facteur user show",
    responses: { 200: { description: "the user", schema: ACCOUNT }, 404: ERROR("no such user") },
    handle: getUser,
  },
  {
    method: "PATCH",
    path: "/v1/users/{address}",
    operationId: "updateUser",
    summary: "facteur user passwd / quota / enable / disable, in one change",
    body: object({
      password: { type: "string", minLength: 1 },
      quota,
      enabled: { type: "boolean" },
      maildir: str,
    }, []),
    responses: { 200: { description: "the user", schema: ACCOUNT }, 404: ERROR("no such user") },
    handle: patchUser,
  },
  {
    method: "DELETE",
    path: "/v1/users/{address}",
    operationId: "deleteUser",
    summary: "facteur user del (the mailbox stays on disk)",
    responses: { 200: { description: "deleted", schema: DELETED }, 404: ERROR("no such user") },
    handle: deleteUser,
  },
  {
    method: "GET",
    path: "/v1/domains",
    operationId: "listDomains",
    summary: "facteur domain list",
    responses: {
      200: {
        description: "every domain",
        schema: object({ domains: { type: "array", items: DOMAIN } }),
      },
    },
    handle: async (c, { deps }) =>
      c.json({ domains: (await storeOf(deps).listDomains()).map(domainJson) }),
  },
  {
    method: "POST",
    path: "/v1/domains",
    operationId: "createDomain",
    summary: "facteur domain add",
    body: object({ name: str, note: str }, ["name"]),
    responses: {
      201: { description: "the new domain", schema: DOMAIN },
      409: ERROR("the domain exists"),
    },
    handle: createDomain,
  },
  {
    method: "GET",
    path: "/v1/domains/{name}",
    operationId: "getDomain",
    summary: "one domain and its number of users",
    responses: { 200: { description: "the domain", schema: DOMAIN }, 404: ERROR("no such domain") },
    handle: getDomain,
  },
  {
    method: "DELETE",
    path: "/v1/domains/{name}",
    operationId: "deleteDomain",
    summary: "facteur domain del: refused while it has users unless force=true",
    query: [{
      name: "force",
      schema: { type: "boolean", default: false },
      description: "delete its users too",
    }],
    responses: {
      200: {
        description: "deleted",
        schema: object({ deleted: { const: 1 }, users_deleted: { type: "integer" } }),
      },
      404: ERROR("no such domain"),
      409: ERROR("the domain has users"),
    },
    handle: deleteDomain,
  },
  {
    method: "GET",
    path: "/v1/aliases",
    operationId: "listAliases",
    summary: "facteur alias list",
    query: [DOMAIN_QUERY],
    responses: {
      200: { description: "aliases", schema: object({ aliases: { type: "array", items: ALIAS } }) },
    },
    handle: async (c, { deps, query }) => {
      const domain = query.get("domain");
      const filter = { domain: domain === undefined ? undefined : domainParam("domain", domain) };
      const aliases = await call(() => storeOf(deps).listAliases(filter), "domain");
      return c.json({ aliases: aliases.map(aliasJson) });
    },
  },
  {
    method: "POST",
    path: "/v1/aliases",
    operationId: "createAlias",
    summary: "facteur alias add: user@domain or @domain → targets",
    body: object({ address: str, targets: { type: "array", items: str, minItems: 1 } }),
    responses: {
      201: { description: "the new alias", schema: ALIAS },
      409: ERROR("the alias exists"),
    },
    handle: createAlias,
  },
  {
    method: "GET",
    path: "/v1/aliases/{address}",
    operationId: "getAlias",
    summary: "one alias",
    responses: { 200: { description: "the alias", schema: ALIAS }, 404: ERROR("no such alias") },
    handle: getAlias,
  },
  {
    method: "PATCH",
    path: "/v1/aliases/{address}",
    operationId: "updateAlias",
    summary: "replace an alias's targets",
    body: object({ targets: { type: "array", items: str, minItems: 1 } }),
    responses: { 200: { description: "the alias", schema: ALIAS }, 404: ERROR("no such alias") },
    handle: patchAlias,
  },
  {
    method: "DELETE",
    path: "/v1/aliases/{address}",
    operationId: "deleteAlias",
    summary: "facteur alias del",
    responses: { 200: { description: "deleted", schema: DELETED }, 404: ERROR("no such alias") },
    handle: deleteAlias,
  },
];
