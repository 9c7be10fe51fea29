/**
 * A private Dovecot IMAP server (own base_dir, no TLS, one passwd-file user,
 * Maildir) on a loopback port, and a raw IMAP client that APPENDs messages
 * and returns the untagged FETCH data exactly as Dovecot sent it, for the
 * differential BODYSTRUCTURE/ENVELOPE test.
 */
import { join } from "node:path";
import { findPeer } from "../peers.ts";
import { freePort } from "../peers/postfix.ts";

export interface DovecotImap {
  port: number;
  stop(): Promise<void>;
}

function conf(dir: string, port: number): string {
  return `base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/dovecot.log
protocols = imap
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
passdb {
  driver = passwd-file
  args = ${dir}/users
}
userdb {
  driver = passwd-file
  args = ${dir}/users
}
mail_location = maildir:${dir}/mail/%u/Maildir
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
}
`;
}

export async function startDovecotImap(): Promise<DovecotImap> {
  const dir = await Deno.makeTempDir({ prefix: "facteur-mime-dovecot-" });
  await Deno.mkdir(join(dir, "mail"));
  await Deno.chmod(dir, 0o755);
  await Deno.chmod(join(dir, "mail"), 0o777);
  await Deno.writeTextFile(
    join(dir, "users"),
    `alice:{PLAIN}secret:65534:65534::${dir}/mail/alice::\n`,
  );
  const port = freePort();
  const file = join(dir, "dovecot.conf");
  await Deno.writeTextFile(file, conf(dir, port));
  const child = new Deno.Command(findPeer("dovecot")!, {
    args: ["-F", "-c", file],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const stop = async () => {
    try {
      Deno.kill(child.pid, "SIGTERM");
    } catch {
      // already exited
    }
    await child.status;
    await stderr;
    await Deno.remove(dir, { recursive: true });
  };
  for (let i = 0; i < 100; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return { port, stop };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const log = await Deno.readTextFile(join(dir, "dovecot.log")).catch(() => "");
  await stop();
  throw new Error(`dovecot did not start: ${log}`);
}

/** A minimal IMAP client over bytes: enough for LOGIN, APPEND and FETCH. */
class RawImap {
  #buf = new Uint8Array(0);
  #tag = 0;
  constructor(private conn: Deno.Conn) {}

  async #fill(): Promise<void> {
    const chunk = new Uint8Array(65536);
    const n = await this.conn.read(chunk);
    if (n === null) throw new Error("IMAP connection closed");
    const next = new Uint8Array(this.#buf.length + n);
    next.set(this.#buf);
    next.set(chunk.subarray(0, n), this.#buf.length);
    this.#buf = next;
  }

  /** One response line with its literals folded in (binary string, CRLF kept inside literals). */
  async line(): Promise<string> {
    let out = "";
    for (;;) {
      let lf = this.#buf.indexOf(0x0a);
      while (lf < 0) {
        await this.#fill();
        lf = this.#buf.indexOf(0x0a);
      }
      const text = latin1(this.#buf.subarray(0, lf + 1));
      this.#buf = this.#buf.slice(lf + 1);
      const m = /\{(\d+)\}\r\n$/.exec(text);
      if (!m) return out + text.replace(/\r\n$/, "");
      out += text;
      const size = Number(m[1]);
      while (this.#buf.length < size) await this.#fill();
      out += latin1(this.#buf.subarray(0, size));
      this.#buf = this.#buf.slice(size);
    }
  }

  async command(text: string, literal?: Uint8Array): Promise<string[]> {
    const tag = `t${++this.#tag}`;
    const enc = new TextEncoder();
    if (literal) {
      await this.conn.write(enc.encode(`${tag} ${text} {${literal.length}}\r\n`));
      const cont = await this.line();
      if (!cont.startsWith("+")) throw new Error(`no continuation: ${cont}`);
      await this.conn.write(literal);
      await this.conn.write(enc.encode("\r\n"));
    } else {
      await this.conn.write(enc.encode(`${tag} ${text}\r\n`));
    }
    const lines: string[] = [];
    for (;;) {
      const line = await this.line();
      if (line.startsWith(tag + " ")) {
        if (!line.startsWith(`${tag} OK`)) throw new Error(`${text}: ${line}`);
        return lines;
      }
      lines.push(line);
    }
  }
}

function latin1(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

export interface FetchedItems {
  bodystructure: string;
  body: string;
  envelope: string;
}

/**
 * APPENDs the messages in order to a fresh INBOX, then FETCHes BODYSTRUCTURE,
 * BODY and ENVELOPE of each; returns the raw item texts by message index.
 */
export async function fetchFromDovecot(
  server: DovecotImap,
  messages: Uint8Array[],
): Promise<FetchedItems[]> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const imap = new RawImap(conn);
  try {
    await imap.line();
    await imap.command("LOGIN alice secret");
    for (const m of messages) await imap.command("APPEND INBOX", m);
    await imap.command("SELECT INBOX");
    const out: FetchedItems[] = [];
    for (let i = 1; i <= messages.length; i++) {
      const [bs] = await imap.command(`FETCH ${i} (BODYSTRUCTURE)`);
      const [body] = await imap.command(`FETCH ${i} (BODY)`);
      const [env] = await imap.command(`FETCH ${i} (ENVELOPE)`);
      out.push({
        bodystructure: item(bs, "BODYSTRUCTURE"),
        body: item(body, "BODY"),
        envelope: item(env, "ENVELOPE"),
      });
    }
    await imap.command("LOGOUT").catch(() => []);
    return out;
  } finally {
    conn.close();
  }
}

/** "* 1 FETCH (NAME value)" -> value. */
function item(line: string, name: string): string {
  const prefix = new RegExp(`^\\* \\d+ FETCH \\(${name} `);
  const m = prefix.exec(line);
  if (!m || !line.endsWith(")")) throw new Error(`unexpected FETCH response: ${line}`);
  return line.slice(m[0].length, -1);
}

/** The value of a "BODY[...]" FETCH item: the literal or quoted text, or null for NIL. */
function sectionValue(line: string): string | null {
  const at = line.indexOf("BODY[");
  const close = line.indexOf("] ", at);
  if (at < 0 || close < 0) throw new Error(`unexpected FETCH response: ${line}`);
  const rest = line.slice(close + 2);
  if (rest.startsWith("NIL")) return null;
  const lit = /^\{(\d+)\}\r\n/.exec(rest);
  if (lit) return rest.slice(lit[0].length, lit[0].length + Number(lit[1]));
  const quoted = /^"((?:[^"\\]|\\.)*)"/.exec(rest);
  if (quoted) return quoted[1].replace(/\\(.)/g, "$1");
  throw new Error(`unexpected FETCH value: ${line}`);
}

/** BODY.PEEK[section] of messages 1..count, for every section spec: the values as binary strings. */
export async function fetchSections(
  server: DovecotImap,
  count: number,
  sections: string[],
): Promise<(string | null)[][]> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const imap = new RawImap(conn);
  try {
    await imap.line();
    await imap.command("LOGIN alice secret");
    await imap.command("EXAMINE INBOX");
    const out: (string | null)[][] = [];
    for (let i = 1; i <= count; i++) {
      const row: (string | null)[] = [];
      for (const s of sections) {
        const lines = await imap.command(`FETCH ${i} (BODY.PEEK[${s}])`);
        row.push(sectionValue(lines.find((l) => l.includes("BODY[")) ?? ""));
      }
      out.push(row);
    }
    return out;
  } finally {
    conn.close();
  }
}
