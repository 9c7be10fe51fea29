/**
 * Test helpers: an smtpd on a loopback ephemeral port with a stub policy and
 * a submit() that records what it was given, and a raw SMTP client that
 * sends exact bytes and reads whole replies.
 */
import { parseConfig } from "../../src/config/mod.ts";
import type { MailError } from "../../src/errors.ts";
import {
  type CleanupRequest,
  type SmtpdContext,
  type SmtpdPolicy,
  type SmtpServer,
  startSmtpServer,
} from "../../src/smtpd/mod.ts";

export const HOSTNAME = "mx.test.example";

/** A policy that accepts everything, with hooks to override one stage. */
export function stubPolicy(overrides: Partial<SmtpdPolicy> = {}): SmtpdPolicy {
  const accept = (_ctx: SmtpdContext): Promise<MailError | undefined> => Promise.resolve(undefined);
  return {
    onConnect: accept,
    onHelo: accept,
    onMail: accept,
    onRcpt: accept,
    onData: accept,
    onEndOfData: accept,
    ...overrides,
  };
}

export interface TestServer {
  port: number;
  submitted: CleanupRequest[];
  logs: string[];
  server: SmtpServer;
  close(): Promise<void>;
}

export interface TestServerOptions {
  policy?: SmtpdPolicy;
  submit?: (req: CleanupRequest) => Promise<string>;
  processLimit?: number;
  clientHostname?: (address: string) => Promise<string | undefined>;
}

/** `toml` is added to a base configuration (myhostname, no error sleep) and wins over it. */
export async function startTestServer(
  toml = "",
  options: TestServerOptions = {},
): Promise<TestServer> {
  const defaults = [`myhostname = "${HOSTNAME}"`, `smtpd_error_sleep_time = "0s"`]
    .filter((line) => !new RegExp(`^${line.split(" ")[0]}\\s*=`, "m").test(toml));
  const config = parseConfig([...defaults, toml].join("\n"));
  const submitted: CleanupRequest[] = [];
  const logs: string[] = [];
  let n = 0;
  const server = await startSmtpServer({
    config,
    policy: options.policy ?? stubPolicy(),
    submit: options.submit ?? ((req) => {
      submitted.push(req);
      return Promise.resolve(`QID${++n}`);
    }),
    log: (line) => logs.push(line),
    processLimit: options.processLimit,
    clientHostname: options.clientHostname,
  }, { host: "127.0.0.1", port: 0 });
  return { port: server.address.port, submitted, logs, server, close: () => server.close() };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `body` against a fresh server, closing it afterwards. */
export async function withServer(
  toml: string,
  body: (srv: TestServer) => Promise<void>,
  options: TestServerOptions = {},
): Promise<void> {
  const srv = await startTestServer(toml, options);
  try {
    await body(srv);
  } finally {
    await srv.close();
  }
}

const decoder = new TextDecoder();

/** A client that writes exact bytes and reads complete (multi-line) replies. */
export class RawClient {
  #conn: Deno.Conn;
  #buffer = "";
  #eof = false;
  #reading?: Promise<void>;

  private constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  static async connect(port: number): Promise<RawClient> {
    return new RawClient(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  /** Connects and reads the greeting; a string is a unix-domain socket path. */
  static async open(where: number | string): Promise<{ client: RawClient; greeting: string }> {
    const client = typeof where === "number"
      ? await RawClient.connect(where)
      : new RawClient(await Deno.connect({ transport: "unix", path: where }));
    return { client, greeting: await client.reply() };
  }

  async send(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    let written = 0;
    while (written < bytes.length) written += await this.#conn.write(bytes.subarray(written));
  }

  /** Sends one command line (CRLF added) and reads its reply. */
  async command(line: string, ms?: number): Promise<string> {
    await this.send(line + "\r\n");
    return await this.reply(ms);
  }

  /** The next complete reply; lines joined with "\n". Rejects on EOF or after `ms`. */
  async reply(ms = 5000): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      const lines = this.#buffer.split("\r\n");
      for (let i = 0; i < lines.length - 1; i++) {
        if (/^\d{3}(?: |$)/.test(lines[i])) {
          const reply = lines.slice(0, i + 1).join("\n");
          this.#buffer = lines.slice(i + 1).join("\r\n");
          return reply;
        }
      }
      if (this.#eof) throw new Error(`connection closed; unread: ${JSON.stringify(this.#buffer)}`);
      if (Date.now() > deadline) {
        throw new Error(`no reply; buffered: ${JSON.stringify(this.#buffer)}`);
      }
      await this.#fill(deadline - Date.now());
    }
  }

  /** Reads until the server closes; returns everything not read yet. */
  async rest(ms = 5000): Promise<string> {
    const deadline = Date.now() + ms;
    while (!this.#eof) {
      if (Date.now() > deadline) throw new Error("server did not close the connection");
      await this.#fill(deadline - Date.now());
    }
    const out = this.#buffer;
    this.#buffer = "";
    return out;
  }

  /** True if the server closed the connection within `ms`. */
  async closedWithin(ms: number): Promise<boolean> {
    try {
      await this.rest(ms);
      return true;
    } catch {
      return false;
    }
  }

  close(): void {
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }

  async #fill(ms: number): Promise<void> {
    this.#reading ??= (async () => {
      const buf = new Uint8Array(65536);
      let n: number | null = null;
      try {
        n = await this.#conn.read(buf);
      } catch {
        n = null;
      }
      if (n === null) this.#eof = true;
      else this.#buffer += decoder.decode(buf.subarray(0, n), { stream: true });
      this.#reading = undefined;
    })();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#reading,
      new Promise((r) => (timer = setTimeout(r, Math.max(ms, 1)))),
    ]);
    clearTimeout(timer);
  }
}

/** Content the server passed to submit, as text. */
export function text(req: CleanupRequest): string {
  return decoder.decode(req.content);
}
