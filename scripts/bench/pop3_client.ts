/**
 * The POP3 benchmark's client: one session, no pipelining, over Deno.connect.
 * USER/PASS, LIST, UIDL, RETR of every message, QUIT; never DELE. Every
 * message is read to its terminating "." and its size, once dot-stuffing is
 * undone (RFC 1939 3), must equal what LIST said: a server that sends less
 * or more fails the run instead of looking fast.
 */

export interface Pop3Target {
  port: number;
  user: string;
  password: string;
  /** The whole session must end within this, or it fails. */
  timeoutMs: number;
}

export interface Pop3SessionResult {
  /** From starting to connect to reading the QUIT reply. */
  elapsedMs: number;
  messages: number;
  /** Sum of the LIST sizes, equal to the octets retrieved. */
  octets: number;
}

const LF = 0x0a;
const DOT = 0x2e;

/** Bytes from the server, read in large chunks; lines and multi-line bodies parsed in place. */
export class Pop3Reader {
  #buf = new Uint8Array(1 << 18);
  #start = 0;
  #end = 0;
  constructor(private read: (into: Uint8Array) => Promise<number | null>) {}

  async #fill(): Promise<void> {
    if (this.#start > 0) {
      this.#buf.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    if (this.#end === this.#buf.length) {
      const bigger = new Uint8Array(this.#buf.length * 2);
      bigger.set(this.#buf);
      this.#buf = bigger;
    }
    const n = await this.read(this.#buf.subarray(this.#end));
    if (n === null) throw new Error("connection closed by the server");
    this.#end += n;
  }

  /** Index just past the next LF, filling as needed. */
  async #lineEnd(): Promise<number> {
    for (;;) {
      const lf = this.#buf.subarray(this.#start, this.#end).indexOf(LF);
      if (lf >= 0) return this.#start + lf + 1;
      await this.#fill();
    }
  }

  /** One line without its CRLF. */
  async line(): Promise<string> {
    const end = await this.#lineEnd();
    const text = latin1(this.#buf.subarray(this.#start, end)).replace(/\r?\n$/, "");
    this.#start = end;
    return text;
  }

  /** The lines of a multi-line response up to its "." (RFC 1939 3), dot-stuffing undone. */
  async lines(): Promise<string[]> {
    const out: string[] = [];
    for (;;) {
      const line = await this.line();
      if (line === ".") return out;
      out.push(line.startsWith(".") ? line.slice(1) : line);
    }
  }

  /** Reads a multi-line body to its "."; returns its octets with dot-stuffing undone. */
  async bodyOctets(): Promise<number> {
    let octets = 0;
    for (;;) {
      const end = await this.#lineEnd();
      const length = end - this.#start;
      const first = this.#buf[this.#start];
      if (first === DOT && length === 3 && this.#buf[this.#start + 1] === 0x0d) {
        this.#start = end;
        return octets;
      }
      octets += first === DOT ? length - 1 : length;
      this.#start = end;
    }
  }
}

function latin1(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

/** Throws with the command when the status line is not +OK. */
function expectOk(command: string, status: string): void {
  if (!status.startsWith("+OK")) throw new Error(`${command}: ${status}`);
}

/** "n size" (LIST) or "n uid" (UIDL) scan lines: the second fields, in order 1..n. */
export function scanListing(command: string, lines: string[]): string[] {
  return lines.map((line, i) => {
    const m = /^(\d+) (\S+)/.exec(line);
    if (!m || Number(m[1]) !== i + 1) throw new Error(`${command}: unexpected line "${line}"`);
    return m[2];
  });
}

/** One timed session retrieving every message; throws on any -ERR, short read or timeout. */
export async function retrieveAll(target: Pop3Target): Promise<Pop3SessionResult> {
  const started = performance.now();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: target.port });
  conn.setNoDelay(true);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    conn.close();
  }, target.timeoutMs);
  const encoder = new TextEncoder();
  const reader = new Pop3Reader((into) => conn.read(into));
  const send = async (command: string) => {
    await conn.write(encoder.encode(`${command}\r\n`));
    const status = await reader.line();
    expectOk(command.startsWith("PASS ") ? "PASS" : command, status);
  };
  try {
    expectOk("greeting", await reader.line());
    await send(`USER ${target.user}`);
    await send(`PASS ${target.password}`);
    await send("LIST");
    const sizes = scanListing("LIST", await reader.lines()).map(Number);
    await send("UIDL");
    const uids = scanListing("UIDL", await reader.lines());
    if (uids.length !== sizes.length) {
      throw new Error(`UIDL listed ${uids.length} messages, LIST ${sizes.length}`);
    }
    let octets = 0;
    for (let i = 0; i < sizes.length; i++) {
      await send(`RETR ${i + 1}`);
      const got = await reader.bodyOctets();
      if (got !== sizes[i]) {
        throw new Error(`RETR ${i + 1}: ${got} octets, LIST said ${sizes[i]}`);
      }
      octets += got;
    }
    await send("QUIT");
    return { elapsedMs: performance.now() - started, messages: sizes.length, octets };
  } catch (e) {
    if (timedOut) throw new Error(`POP3 session not done within ${target.timeoutMs / 1000} s`);
    throw e;
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed by the timer */ }
  }
}
