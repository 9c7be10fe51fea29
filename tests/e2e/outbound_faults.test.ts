/**
 * Outbound delivery faults end to end: the real server relays to a receiver
 * that misbehaves (drops the connection mid-DATA, never answers the final dot),
 * through a DNS server that does not answer, and is itself killed mid-delivery.
 * Each test checks the log line an operator reads (Postfix's wording and dsn)
 * and that the receiver finally gets the message, exactly once where SMTP can
 * promise it and at least once where it cannot.
 */
import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { requirePeer } from "../peers.ts";
import { freePort } from "../peers/postfix.ts";
import { type Dnsmasq, startDnsmasq } from "../peers/dnsmasq.ts";
import { eventually, startServer } from "./harness.ts";
import { send } from "./sink.ts";

const dnsmasqPeer = requirePeer("dnsmasq", "dnsmasq-base");

/** What the receiver does once it has the DATA command's 354 out. */
type Behaviour =
  | "accept" // read to the dot, answer 250
  | "drop" // read part of the body, stop reading, then destroy the socket
  | "stall" // read to the dot, never answer
  | { delayMs: number }; // read to the dot, answer 250 after a pause

/** A tiny SMTP receiver on loopback whose DATA behaviour can change between connections. */
class Receiver {
  behaviour: Behaviour;
  /** Bodies received in full and answered 250. */
  readonly delivered: string[] = [];
  /** How many final dots arrived (answered or not). */
  dots = 0;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();

  private constructor(server: Server, behaviour: Behaviour) {
    this.#server = server;
    this.behaviour = behaviour;
    server.on("connection", (s) => this.#session(s));
  }

  static async start(host: string, port: number, behaviour: Behaviour): Promise<Receiver> {
    const server = createServer();
    const r = new Receiver(server, behaviour);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve());
    });
    return r;
  }

  async stop(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #session(socket: Socket): void {
    this.#sockets.add(socket);
    socket.on("close", () => this.#sockets.delete(socket));
    socket.on("error", () => {});
    const behaviour = this.behaviour;
    let buffer = "";
    let inData = false;
    let body = "";
    socket.write("220 rx.test ESMTP\r\n");
    socket.on("data", (chunk: Buffer) => {
      buffer += chunk.toString("latin1");
      while (true) {
        if (inData) {
          const end = buffer.indexOf("\r\n.\r\n");
          if (behaviour === "drop" && buffer.length > 4096) {
            // Part of the body read; stop reading so the sender blocks on a
            // full window, then close with data unread: a reset mid-body.
            socket.pause();
            socket.removeAllListeners("data");
            setTimeout(() => socket.destroy(), 300);
            return;
          }
          if (end < 0) return;
          body += buffer.slice(0, end + 2);
          buffer = buffer.slice(end + 5);
          inData = false;
          this.#endOfData(socket, behaviour, body);
          continue;
        }
        const eol = buffer.indexOf("\r\n");
        if (eol < 0) return;
        const line = buffer.slice(0, eol);
        buffer = buffer.slice(eol + 2);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === "EHLO") socket.write("250-rx.test\r\n250 8BITMIME\r\n");
        else if (verb === "DATA") {
          inData = true;
          body = "";
          socket.write("354 go ahead\r\n");
        } else if (verb === "QUIT") {
          socket.end("221 bye\r\n");
          return;
        } else socket.write("250 ok\r\n");
      }
    });
  }

  #endOfData(socket: Socket, behaviour: Behaviour, body: string): void {
    this.dots++;
    if (behaviour === "stall") return;
    if (behaviour === "accept") {
      this.delivered.push(body);
      socket.write("250 2.0.0 Ok: queued\r\n");
      return;
    }
    if (typeof behaviour === "object") {
      setTimeout(() => {
        this.delivered.push(body);
        if (!socket.destroyed) socket.write("250 2.0.0 Ok: queued\r\n");
      }, behaviour.delayMs);
    }
  }
}

function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function withSubject(bodies: string[], subject: string): string[] {
  return bodies.filter((b) => b.includes(`Subject: ${subject}\r\n`));
}

Deno.test("a receiver that drops the connection mid-DATA: deferred 4.4.2, then delivered once", async () => {
  const port = freePort();
  const receiver = await Receiver.start("127.0.0.1", port, "drop");
  const server = await startServer({ toml: `relayhost = "[127.0.0.1]:${port}"` });
  try {
    // Larger than the loopback socket buffers take (tcp_wmem max 4 MB), so
    // the body is still being written when the socket goes.
    const big = ("x".repeat(76) + "\r\n").repeat(80000);
    const id = await send(server.port, "bob@remote.test", "dropped", { body: big });
    await server.waitForLog(
      new RegExp(
        `${id}: to=<bob@remote\\.test>, relay=127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:${port}, .*dsn=4\\.4\\.2, ` +
          `status=deferred \\(lost connection with 127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\] while sending message body\\)`,
      ),
    );
    assert.equal(receiver.delivered.length, 0);
    receiver.behaviour = "accept";
    await server.waitForLog(new RegExp(`${id}: to=<bob@remote\\.test>, .*status=sent`), 20000);
    assert.equal(withSubject(receiver.delivered, "dropped").length, 1);
    assert.ok(receiver.delivered[0].includes(big), "the whole body arrived");
    assert.doesNotMatch(server.log(), new RegExp(`${id}: .*status=bounced`));
  } finally {
    await server.stop();
    await receiver.stop();
  }
});

Deno.test("a receiver that never answers the final dot: timed out, deferred, then delivered", async () => {
  const port = freePort();
  const receiver = await Receiver.start("127.0.0.1", port, "stall");
  const server = await startServer({
    toml: `relayhost = "[127.0.0.1]:${port}"\nsmtp_data_done_timeout = "1s"\n`,
  });
  try {
    const id = await send(server.port, "bob@remote.test", "stalled");
    // Postfix smtp(8): the SMTP_STATE_DOT wording.
    await server.waitForLog(
      new RegExp(
        `${id}: to=<bob@remote\\.test>, relay=127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:${port}, .*dsn=4\\.4\\.2, status=deferred ` +
          esc(
            "(conversation with 127.0.0.1[127.0.0.1] timed out while sending end of data -- message may be sent more than once)",
          ),
      ),
    );
    receiver.behaviour = "accept";
    await server.waitForLog(new RegExp(`${id}: to=<bob@remote\\.test>, .*status=sent`), 20000);
    assert.equal(withSubject(receiver.delivered, "stalled").length, 1);
  } finally {
    await server.stop();
    await receiver.stop();
  }
});

Deno.test({
  name: "DNS server down: deferred 4.4.3 (never bounced), delivered once dnsmasq serves the MX",
  ...dnsmasqPeer,
  fn: async () => {
    const smtpPort = freePort();
    const dnsPort = freePort(); // nothing answers here yet
    const receiver = await Receiver.start("127.0.0.2", smtpPort, "accept");
    const server = await startServer({
      toml: `dns_nameservers = ["127.0.0.1:${dnsPort}"]\ndns_query_timeout = "1s"\n` +
        `smtp_tcp_port = "${smtpPort}"\ninet_protocols = "ipv4"\n`,
    });
    let dns: Dnsmasq | undefined;
    try {
      const id = await send(server.port, "carol@remote.test", "no dns");
      // Postfix smtp(8) wording for a name service that does not answer.
      await server.waitForLog(
        new RegExp(
          `${id}: to=<carol@remote\\.test>, relay=none, .*dsn=4\\.4\\.3, status=deferred ` +
            esc(
              "(Host or domain name not found. Name service error for name=remote.test type=MX: Host not found, try again)",
            ),
        ),
      );
      dns = await startDnsmasq(dnsPort, [
        "--local=/test/",
        "--mx-host=remote.test,mx1.remote.test,10",
        "--host-record=mx1.remote.test,127.0.0.2",
      ]);
      await server.waitForLog(
        new RegExp(
          `${id}: to=<carol@remote\\.test>, relay=mx1\\.remote\\.test\\[127\\.0\\.0\\.2\\]:${smtpPort}, .*status=sent`,
        ),
        20000,
      );
      assert.equal(withSubject(receiver.delivered, "no dns").length, 1);
      assert.doesNotMatch(server.log(), new RegExp(`${id}: .*status=bounced`));
    } finally {
      await server.stop();
      await receiver.stop();
      await dns?.stop();
    }
  },
});

Deno.test("facteur killed during outbound delivery: after restart the message still arrives", async () => {
  const port = freePort();
  const receiver = await Receiver.start("127.0.0.1", port, { delayMs: 2000 });
  const toml = `relayhost = "[127.0.0.1]:${port}"`;
  const first = await startServer({ toml });
  let second;
  try {
    const id = await send(first.port, "bob@remote.test", "in flight");
    // The body and its dot are at the receiver, its 250 not yet given: kill now.
    await eventually(() => Promise.resolve(receiver.dots === 1), 10000);
    assert.equal(receiver.delivered.length, 0);
    await first.kill();
    assert.doesNotMatch(first.log(), new RegExp(`${id}: to=<bob@remote\\.test>, .*status=`));
    receiver.behaviour = "accept";
    second = await startServer({ toml, dir: first.dir });
    await second.waitForLog(new RegExp(`${id}: to=<bob@remote\\.test>, .*status=sent`), 20000);
    assert.match(second.log(), /recovered 1 message\(s\) left active by a previous run/);
    // At least once (SMTP cannot promise more), and not lost.
    assert.ok(withSubject(receiver.delivered, "in flight").length >= 1);
  } finally {
    await first.stop();
    await second?.stop();
    await receiver.stop();
  }
});
