/**
 * A tiny SMTP server on a unix-domain socket, standing in for facteur's
 * pickup service: it records every command line and the DATA bytes exactly,
 * and answers as told.
 */
import { join } from "node:path";

export interface FakeSmtpOptions {
  /** EHLO keywords after the greeting line. */
  extensions?: string[];
  /** Reply to a command; undefined = the default 250/354 answers. */
  reply?: (command: string) => string | undefined;
}

export interface FakeSmtp {
  path: string;
  dataDir: string;
  /** Command lines received, without CRLF. */
  commands: string[];
  /** The DATA bytes up to and including the final ".\r\n". */
  data(): Uint8Array;
  close(): Promise<void>;
}

const encoder = new TextEncoder();

function indexOf(haystack: Uint8Array, needle: Uint8Array, from: number): number {
  outer: for (let i = from; i <= haystack.length - needle.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** Listens at DIR/data/public/pickup, where sendmail looks with data_directory = DIR/data. */
export async function startFakeSmtp(dir: string, opts: FakeSmtpOptions = {}): Promise<FakeSmtp> {
  const dataDir = join(dir, "data");
  await Deno.mkdir(join(dataDir, "public"), { recursive: true });
  const path = join(dataDir, "public", "pickup");
  await Deno.remove(path).catch(() => {}); // a socket file left by an earlier server
  const listener = Deno.listen({ transport: "unix", path });
  const commands: string[] = [];
  let data = new Uint8Array();
  const sessions: Promise<void>[] = [];

  const serve = async (conn: Deno.Conn) => {
    const writer = conn.writable.getWriter();
    const say = (text: string) => writer.write(encoder.encode(text + "\r\n")).catch(() => {});
    let buf = new Uint8Array();
    let inData = false;
    await say("220 fake.test ESMTP");
    try {
      for await (const chunk of conn.readable) {
        const joined = new Uint8Array(buf.length + chunk.length);
        joined.set(buf);
        joined.set(chunk, buf.length);
        buf = joined;
        for (;;) {
          if (inData) {
            const end = indexOf(buf, encoder.encode("\r\n.\r\n"), 0);
            const atStart = buf.length >= 3 && buf[0] === 0x2e && buf[1] === 0x0d &&
              buf[2] === 0x0a;
            if (end < 0 && !atStart) break;
            const cut = atStart ? 3 : end + 5;
            data = buf.slice(0, cut);
            buf = buf.slice(cut);
            inData = false;
            await say(opts.reply?.(".") ?? "250 2.0.0 Ok: queued as FAKE123");
            continue;
          }
          const lf = indexOf(buf, encoder.encode("\r\n"), 0);
          if (lf < 0) break;
          const line = new TextDecoder().decode(buf.slice(0, lf));
          buf = buf.slice(lf + 2);
          commands.push(line);
          const verb = line.split(/[ :]/)[0].toUpperCase();
          const custom = opts.reply?.(line);
          if (custom) await say(custom);
          else if (verb === "EHLO") {
            const ext = ["fake.test", ...(opts.extensions ?? ["8BITMIME", "DSN", "SMTPUTF8"])];
            await say(ext.map((e, i) => `250${i === ext.length - 1 ? " " : "-"}${e}`).join("\r\n"));
          } else if (verb === "DATA") {
            inData = true;
            await say("354 End data with <CR><LF>.<CR><LF>");
          } else if (verb === "QUIT") {
            await say("221 2.0.0 Bye");
            conn.close();
            return;
          } else await say("250 2.0.0 Ok");
        }
      }
    } catch {
      // the client went away
    }
    try {
      conn.close();
    } catch {
      // closed already
    }
  };

  const accepting = (async () => {
    try {
      for await (const conn of listener) sessions.push(serve(conn));
    } catch {
      // listener closed
    }
  })();

  return {
    path,
    dataDir,
    commands,
    data: () => data,
    close: async () => {
      listener.close();
      await accepting;
      await Promise.all(sessions);
    },
  };
}
