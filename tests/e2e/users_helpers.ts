/** The CLI and SMTP steps the users and POP3 end-to-end tests share. */
import { join } from "node:path";
import { RawClient } from "../smtpd/helpers.ts";
import { ROOT } from "./harness.ts";

/** `facteur ARGS` as a separate process, with `stdin` written to it. */
export async function facteur(args: string[], stdin = "") {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", join(ROOT, "mod.ts"), ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(stdin));
  await writer.close();
  const out = await child.output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

/** One SMTP transaction; the RCPT replies, and the DATA reply when a recipient was taken. */
export async function send(port: number, recipients: string[], subject: string) {
  const { client } = await RawClient.open(port);
  try {
    await client.command("EHLO client.test");
    await client.command("MAIL FROM:<sender@client.test>");
    const rcpt = [];
    for (const r of recipients) rcpt.push(await client.command(`RCPT TO:<${r}>`));
    let data: string | undefined;
    if (rcpt.some((r) => r.startsWith("250"))) {
      await client.command("DATA");
      data = await client.command(`Subject: ${subject}\r\n\r\nhello ${subject}\r\n.`);
    }
    await client.command("QUIT");
    return { rcpt, data };
  } finally {
    client.close();
  }
}
