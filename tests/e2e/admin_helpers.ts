/**
 * Shared by the admin API, sendmail and reload e2e suites: a real server
 * with an admin service, the real curl binary against it, the facteur CLI as
 * an operator runs it, and an SMTP submission that returns the queue id.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { RawClient } from "../smtpd/helpers.ts";
import { ROOT, type RunningServer, startServer } from "./harness.ts";

const dec = new TextDecoder();

export interface AdminServer {
  server: RunningServer;
  /** http://127.0.0.1:PORT */
  url: string;
  adminPort: number;
  /** The token the server wrote to admin_token_file at first start. */
  token: string;
}

/**
 * A server with an smtpd and an admin service; `adminListen` defaults to an
 * ephemeral port (give a fixed one when the CLI must find the API from the
 * configuration file).
 */
export async function startAdminServer(
  toml = "",
  adminListen = "127.0.0.1:0",
): Promise<AdminServer> {
  const server = await startServer({
    toml: `admin_token_file = "./data/admin.token"\n${toml}\n` +
      `[services.smtp]\nlisten = "127.0.0.1:0"\n\n` +
      `[services.admin]\ncommand = "admin"\nlisten = "${adminListen}"\n`,
  });
  try {
    const m = await server.waitForLog(/admin \(admin\) listening on 127\.0\.0\.1:(\d+)/);
    const token = (await Deno.readTextFile(join(server.dataDir, "admin.token"))).trim();
    const adminPort = Number(m[1]);
    return { server, url: `http://127.0.0.1:${adminPort}`, adminPort, token };
  } catch (e) {
    await server.kill();
    throw e;
  }
}

export interface CurlResult {
  status: number;
  /** Header names in lower case (the last response's, when curl followed none). */
  headers: Map<string, string>;
  body: Uint8Array;
  text: string;
  // deno-lint-ignore no-explicit-any
  json: any;
}

/**
 * The real curl: `curl -sS -D HEADERS -o BODY -w %{http_code} ARGS URL`.
 * Fails the test when curl itself fails (no connection).
 */
export async function curl(url: string, ...args: string[]): Promise<CurlResult> {
  const dir = await Deno.makeTempDir({ prefix: "facteur-curl-" });
  try {
    const headersFile = join(dir, "headers");
    const bodyFile = join(dir, "body");
    const out = await new Deno.Command("curl", {
      args: ["-sS", "-D", headersFile, "-o", bodyFile, "-w", "%{http_code}", ...args, url],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, `curl ${args.join(" ")} ${url}: ${dec.decode(out.stderr)}`);
    const headers = new Map<string, string>();
    for (const line of (await Deno.readTextFile(headersFile)).split("\r\n").slice(1)) {
      const i = line.indexOf(":");
      if (i > 0) headers.set(line.slice(0, i).toLowerCase(), line.slice(i + 1).trim());
    }
    const body = await Deno.readFile(bodyFile).catch(() => new Uint8Array());
    const text = dec.decode(body);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: Number(dec.decode(out.stdout)), headers, body, text, json };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** curl with `Authorization: Bearer TOKEN`. */
export function authed(token: string) {
  return (url: string, ...args: string[]) =>
    curl(url, "-H", `Authorization: Bearer ${token}`, ...args);
}

/** The contract's error answer: status, code, and a message (matching `message` when given). */
export function assertError(r: CurlResult, status: number, code: string, message?: RegExp) {
  assert.equal(r.status, status, r.text);
  assert.match(r.headers.get("content-type") ?? "", /^application\/json/);
  assert.equal(r.json?.error?.code, code, r.text);
  assert.equal(typeof r.json.error.message, "string");
  assert.ok(r.json.error.message.length > 0);
  if (message) assert.match(r.json.error.message, message);
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `deno run -A mod.ts ARGS` with `stdin`, as an operator runs facteur. */
export async function facteur(args: string[], stdin?: string): Promise<CliResult> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(ROOT, "mod.ts"), ...args],
    cwd: ROOT,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await child.output();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** A shell command line (sh -c), as cron or a script runs it. */
export async function shell(line: string): Promise<CliResult> {
  const out = await new Deno.Command("sh", {
    args: ["-c", line],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
  }).output();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** One message over SMTP; resolves with its queue id ("250 ... queued as ID"). */
export async function sendSmtp(
  port: number,
  opts: { from?: string; to: string; subject: string; body?: string },
): Promise<string> {
  const { client } = await RawClient.open(port);
  try {
    assert.match(await client.command("EHLO client.test"), /^250/);
    assert.match(await client.command(`MAIL FROM:<${opts.from ?? "alice@example.test"}>`), /^250/);
    assert.match(await client.command(`RCPT TO:<${opts.to}>`), /^250/);
    assert.match(await client.command("DATA"), /^354/);
    const reply = await client.command(
      `Subject: ${opts.subject}\r\n\r\n${opts.body ?? "hello"}\r\n.`,
    );
    const id = reply.match(/queued as ([0-9A-Z]+)/)?.[1];
    assert.ok(id, reply);
    await client.command("QUIT");
    return id;
  } finally {
    client.close();
  }
}

/** A loopback port nothing listens on (bound then closed): a dead relayhost. */
export function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/**
 * TOML for mail that stays queued: relayhost on a closed port and
 * backoffs long enough that nothing is retried while a test looks.
 */
export function deadRelayToml(port = closedPort()): string {
  return `relayhost = "[127.0.0.1]:${port}"\nminimal_backoff_time = "1000s"\n` +
    `maximal_backoff_time = "4000s"\nqueue_run_delay = "1000s"\n`;
}
