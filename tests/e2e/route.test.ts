// `facteur route` as an administrator runs it: a config file with table files next to it.
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT } from "./harness.ts";

async function facteur(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", join(ROOT, "mod.ts"), ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

const TOML = `
myhostname = "mail.mon_domaine.net"
mydomain = "mon_domaine.net"
myorigin = "$mydomain"
mydestination = ["$myhostname", "$mydomain"]
inet_interfaces = "loopback-only"
mynetworks = ["127.0.0.0/8"]
alias_maps = ""
local_recipient_maps = ""
virtual_alias_maps = "hash:virtual"
relay_domains = ["domaine_ami.net"]
transport_maps = "hash:transport"
relocated_maps = "texthash:relocated"
`;

async function withSetup(fn: (file: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "facteur-route-e2e-" });
  try {
    // Seed 001: a catch-all, robert keeps his mail, a friend domain relayed by transport_maps.
    await Deno.writeTextFile(
      join(dir, "virtual"),
      "@mon_domaine.net             gaston\nrobert@mon_domaine.net       robert\n",
    );
    await Deno.writeTextFile(join(dir, "transport"), "domaine_ami.net   smtp:[127.0.0.1]:2525\n");
    await Deno.writeTextFile(
      join(dir, "relocated"),
      "ancien@mail.mon_domaine.net  nouveau@ailleurs.test\nancien@mon_domaine.net  nouveau@ailleurs.test\n",
    );
    const file = join(dir, "facteur.toml");
    await Deno.writeTextFile(file, TOML);
    await fn(file);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("facteur route: human output for the catch-all", async () => {
  await withSetup(async (file) => {
    const r = await facteur(["route", "quelqu.un@mon_domaine.net", "-c", file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Route of quelqu\.un@mon_domaine\.net$/m);
    assert.match(r.stdout, /ACCEPTED: 250 2\.1\.5 Ok/);
    // gaston@mon_domaine.net matches the catch-all again and maps to itself: final (virtual(5)).
    const tree = "quelqu.un@mon_domaine.net\n  └─ gaston@mon_domaine.net\n" +
      "     └─ gaston@mon_domaine.net  (final)";
    assert.ok(r.stdout.includes(tree), r.stdout);
    assert.match(
      r.stdout,
      /gaston@mon_domaine\.net\s+local\s+mydestination "mon_domaine\.net"\s+local:mail\.mon_domaine\.net/,
    );
    assert.match(
      r.stdout,
      /expansion\s+virtual_alias_maps\s+hash:virtual\s+@mon_domaine\.net\s+gaston/,
    );
    // local(8): no alias, no account, no luser_relay (alias_maps and local_recipient_maps are empty).
    assert.ok(
      r.stdout.includes(
        "Local delivery (local(8))\n  gaston@mon_domaine.net (transport local)\n" +
          '    gaston@mon_domaine.net\n      ⇒ BOUNCED 5.1.1 unknown user: "gaston"\n',
      ),
      r.stdout,
    );
  });
});

Deno.test("facteur route --json: relay by transport_maps, relocated, outside client", async () => {
  await withSetup(async (file) => {
    const friend = await facteur(["route", "x@domaine_ami.net", "--json", "-c", file]);
    assert.equal(friend.code, 0, friend.stderr);
    const f = JSON.parse(friend.stdout);
    assert.deepEqual(
      f.recipients.map((x: Record<string, string>) => [x.class, x.transport, x.nexthop]),
      [["relay", "smtp", "[127.0.0.1]:2525"]],
    );
    const moved = await facteur([
      "route",
      "ancien@mail.mon_domaine.net",
      "--json",
      "--client",
      "192.0.2.10",
      "-c",
      file,
    ]);
    const m = JSON.parse(moved.stdout);
    assert.equal(
      m.rcpt.reply,
      "550 5.1.6 <ancien@mail.mon_domaine.net>: Recipient address rejected: User has moved to nouveau@ailleurs.test",
    );
    assert.equal(m.recipients[0].relocated, "nouveau@ailleurs.test");
    // Under the catch-all the alias comes first (smtpd_check.c, cleanup before trivial-rewrite):
    // accepted, and delivered to gaston; relocated_maps never sees it.
    const caught = JSON.parse(
      (await facteur(["route", "ancien@mon_domaine.net", "--json", "-c", file])).stdout,
    );
    assert.equal(caught.rcpt.accepted, true);
    assert.deepEqual(caught.recipients.map((x: Record<string, string>) => x.address), [
      "gaston@mon_domaine.net",
    ]);
    const far = await facteur([
      "route",
      "x@far.test",
      "--json",
      "--client",
      "192.0.2.10",
      "-c",
      file,
    ]);
    assert.equal(JSON.parse(far.stdout).rcpt.reply, "454 4.7.1 <x@far.test>: Relay access denied");
  });
});
