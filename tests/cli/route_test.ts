/** `facteur route` through main(): options, output forms, bad arguments. */
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { main } from "../../src/cli/mod.ts";

const TOML = `
myhostname = "mail.example.com"
mydestination = "$myhostname, local.test"
inet_interfaces = "loopback-only"
alias_maps = ""
local_recipient_maps = "inline:{ alice=1 }"
relocated_maps = "inline:{ old@local.test=new@example.org }"
`;

async function run(args: string[]): Promise<{ status: number; out: string; err: string }> {
  const dir = await Deno.makeTempDir({ prefix: "facteur-route-" });
  const file = `${dir}/facteur.toml`;
  await Deno.writeTextFile(file, TOML);
  const out: string[] = [];
  const err: string[] = [];
  const [log, error] = [console.log, console.error];
  console.log = (...a: unknown[]) => out.push(a.join(" "));
  console.error = (...a: unknown[]) => err.push(a.join(" "));
  try {
    const status = await main(["route", ...args, "-c", file]);
    return { status, out: out.join("\n"), err: err.join("\n") };
  } finally {
    [console.log, console.error] = [log, error];
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("facteur route --json: the report, relocated at RCPT and delivery", async () => {
  const { status, out } = await run(["old@local.test", "--json", "--sender", "s@example.org"]);
  assert.equal(status, 0);
  const report = JSON.parse(out);
  assert.equal(report.input.sender, "s@example.org");
  assert.equal(
    report.rcpt.reply,
    "550 5.1.6 <old@local.test>: Recipient address rejected: User has moved to new@example.org",
  );
  assert.equal(report.recipients[0].nexthop, "5.1.6 User has moved to new@example.org");
});

Deno.test("facteur route: human output names the class and why", async () => {
  const { status, out } = await run(["alice@local.test", "--client", "127.0.0.1"]);
  assert.equal(status, 0);
  assert.match(out, /ACCEPTED: 250 2\.1\.5 Ok/);
  assert.match(
    out,
    /alice@local\.test\s+local\s+mydestination "local\.test"\s+local:mail\.example\.com/,
  );
  assert.match(out, /rcpt\s+local_recipient_maps\s+inline:\{ alice=1 \}\s+alice\s+1/);
});

Deno.test("facteur route: bad arguments exit 64 with the field named", async () => {
  const client = await run(["a@local.test", "--client", "not-an-ip"]);
  assert.equal(client.status, 64);
  assert.match(client.err, /client: "not-an-ip" is not an IPv4 or IPv6 address/);
  const address = await run(["a b@local.test"]);
  assert.equal(address.status, 64);
  assert.match(address.err, /address: "a b@local\.test" is not an address/);
});

Deno.test("facteur route on config.example.toml: postmaster → alice's Maildir by alias_maps", async () => {
  const example = fileURLToPath(new URL("../../config.example.toml", import.meta.url));
  const out: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => out.push(a.join(" "));
  let status;
  try {
    status = await main(["route", "postmaster@example.test", "-c", example]);
  } finally {
    console.log = log;
  }
  assert.equal(status, 0);
  const text = out.join("\n");
  const maildir = join(dirname(example), "data", "home", "alice", "Maildir") + "/";
  const section = text.slice(text.indexOf("Local delivery (local(8))\n"));
  assert.ok(
    section.startsWith(
      "Local delivery (local(8))\n" +
        "  postmaster@example.test (transport local)\n" +
        "    postmaster@example.test → alice@example.test (alias_maps postmaster)\n" +
        `      ⇒ Maildir ${maildir} (facteur user alice, no system account: home `,
    ),
    text,
  );
  assert.match(text, /local\s+alias_maps\s+inline:\{ postmaster=alice,.*\s+postmaster\s+alice$/m);
});
