/**
 * A scripted SMTP/LMTP server for client tests: answers each command with
 * the reply the test chose, records what it received, and can stall, drop
 * the connection mid-DATA, or start TLS.
 */
import { createServer, type Server } from "node:net";
import { Connection } from "../../../src/net/connection.ts";

export interface FakeOptions {
  greeting?: string;
  /** EHLO/LHLO keywords announced after the first line. */
  extensions?: string[];
  /** Replaces the whole EHLO reply (e.g. "502 5.5.2 Error: command not recognized"). */
  ehloReply?: string;
  mailReply?: string;
  rcptReply?: (address: string) => string;
  dataReply?: string;
  /** The reply to RSET; a 421 one also closes the connection (RFC 5321 3.8). */
  rsetReply?: string;
  /** One reply per accepted recipient for LMTP; the first one for SMTP. */
  dotReplies?: string[];
  /** Stop answering (keep the connection open) when this verb arrives; "." = after the body. */
  stallAt?: string;
  /** Close the connection after this many body bytes. */
  dropAfterBodyBytes?: number;
  tls?: { key: string; cert: string };
}

export interface Fake {
  port: number;
  /** Commands received, with "(tls)" appended when TLS was active. */
  commands: string[];
  /** Commands that arrived while more input was already waiting: the client pipelined them. */
  pipelined: string[];
  /** The DATA bytes as received (dot-stuffed, up to and including the final "."). */
  bodies: Uint8Array[];
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Connections open now. */
  readonly open: number;
  /** Closes every open connection without a word (as a server timing out idle clients does). */
  dropConnections(): void;
  close(): Promise<void>;
}

const DEFAULT_EXTENSIONS = ["PIPELINING", "SIZE 10240000", "8BITMIME", "DSN", "SMTPUTF8"];
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

export async function startFake(options: FakeOptions = {}): Promise<Fake> {
  const commands: string[] = [];
  const bodies: Uint8Array[] = [];
  const pipelined: string[] = [];
  const connections = new Set<Connection>();
  let accepted = 0;
  const server: Server = createServer((socket) => {
    accepted++;
    const conn = new Connection(socket);
    connections.add(conn);
    serve(conn, options, { commands, bodies, pipelined }).catch(() => {}).finally(() => {
      conn.destroy();
      connections.delete(conn);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    commands,
    bodies,
    pipelined,
    get accepted() {
      return accepted;
    },
    get open() {
      return connections.size;
    },
    dropConnections: () => {
      for (const c of connections) c.destroy();
    },
    close: () => {
      for (const c of connections) c.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

type Records = Pick<Fake, "commands" | "bodies" | "pipelined">;

async function serve(conn: Connection, o: FakeOptions, { commands, bodies, pipelined }: Records) {
  const reply = async (text: string) => {
    conn.write(text + "\r\n");
    if (!conn.hasBufferedLine()) await conn.flush();
  };
  await reply(o.greeting ?? "220 fake.test ESMTP");
  let accepted = 0;
  for (;;) {
    const line = await conn.readLine(1000);
    if (!line) return;
    const text = dec(line.bytes);
    commands.push(text + (conn.tls ? " (tls)" : ""));
    if (conn.hasBufferedLine()) pipelined.push(text);
    const verb = text.split(/[ :]/)[0].toUpperCase();
    if (o.stallAt === verb) return await conn.closed;
    switch (verb) {
      case "EHLO":
      case "LHLO": {
        if (o.ehloReply) {
          await reply(o.ehloReply);
          break;
        }
        const ext = [...(o.extensions ?? DEFAULT_EXTENSIONS)];
        if (o.tls && !conn.tls) ext.push("STARTTLS");
        const lines = ["fake.test", ...ext];
        await reply(
          lines.map((l, i) => `250${i === lines.length - 1 ? " " : "-"}${l}`).join("\r\n"),
        );
        break;
      }
      case "HELO":
        await reply("250 fake.test");
        break;
      case "STARTTLS":
        await conn.upgradeToTls("220 2.0.0 Ready to start TLS\r\n", o.tls!);
        break;
      case "MAIL":
        accepted = 0;
        await reply(o.mailReply ?? "250 2.1.0 Ok");
        break;
      case "RCPT": {
        const address = /<([^>]*)>/.exec(text)?.[1] ?? "";
        const r = o.rcptReply?.(address) ?? "250 2.1.5 Ok";
        if (r.startsWith("2")) accepted++;
        await reply(r);
        break;
      }
      case "DATA": {
        const r = o.dataReply ??
          (accepted
            ? "354 End data with <CR><LF>.<CR><LF>"
            : "554 5.5.1 Error: no valid recipients");
        await reply(r);
        if (!r.startsWith("354")) break;
        bodies.push(await readBody(conn, o.dropAfterBodyBytes));
        if (o.stallAt === ".") return await conn.closed;
        const dots = o.dotReplies ?? ["250 2.0.0 Ok: queued as 4AB12"];
        const n = commands.some((c) => c.startsWith("LHLO")) ? accepted : 1;
        for (let i = 0; i < n; i++) await reply(dots[i] ?? dots[dots.length - 1]);
        break;
      }
      case "RSET":
        accepted = 0;
        await reply(o.rsetReply ?? "250 2.0.0 Ok");
        if (o.rsetReply?.startsWith("421")) return;
        break;
      case "QUIT":
        await reply("221 2.0.0 Bye");
        return;
      default:
        await reply("502 5.5.2 Error: command not recognized");
    }
  }
}

async function readBody(conn: Connection, dropAfter?: number): Promise<Uint8Array> {
  const parts: number[] = [];
  for (;;) {
    const line = await conn.readLine(100_000);
    if (!line) throw new Error("client went away in DATA");
    parts.push(
      ...line.bytes,
      ...(line.ending === "crlf" ? [13, 10] : line.ending === "lf" ? [10] : []),
    );
    if (dropAfter !== undefined && parts.length >= dropAfter) {
      conn.destroy();
      throw new Error("dropped");
    }
    if (dec(line.bytes) === "." && line.ending === "crlf") return new Uint8Array(parts);
  }
}
