/**
 * The per-connection client lists, smtpd_forbid_bare_newline_exclusions and
 * smtpd_client_connection_limit_exceptions: the full mynetworks syntax
 * (postconf(5)), and a bad entry stops start-up naming the parameter.
 */
import assert from "node:assert/strict";
import { parseConfig } from "../../src/config/mod.ts";
import { ConfigError } from "../../src/errors.ts";
import { buildDaemons } from "../../src/master/mod.ts";
import { readSettings } from "../../src/smtpd/mod.ts";
import { HOSTNAME, RawClient, startTestServer } from "./helpers.ts";

const dir = Deno.makeTempDirSync({ prefix: "facteur-smtpd-lists-" });
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
const loopbackCidr = `${dir}/loopback.cidr`;
Deno.writeTextFileSync(loopbackCidr, "# cidr_table(5)\n127.0.0.0/8 OK\n");
const otherCidr = `${dir}/other.cidr`;
Deno.writeTextFileSync(otherCidr, "192.0.2.0/24 OK\n");

/**
 * What the default policy (reject) does with a command ending in a bare LF:
 * "250 ..." when the client is excluded, else 550 and the client is cut.
 */
async function bareLfReply(exclusions: string): Promise<string> {
  const srv = await startTestServer(
    `smtpd_forbid_bare_newline_exclusions = ${JSON.stringify(exclusions)}`,
  );
  try {
    const { client } = await RawClient.open(srv.port);
    await client.send("NOOP\n");
    const reply = await client.reply();
    client.close();
    return reply;
  } finally {
    await srv.close();
  }
}

const EXCLUDED = "250 2.0.0 Ok";
const POLICED = "550 5.5.2 Error: bare <LF> received";

Deno.test("smtpd_forbid_bare_newline_exclusions as a cidr: table", async () => {
  assert.equal(await bareLfReply(`cidr:${loopbackCidr}`), EXCLUDED);
  assert.equal(await bareLfReply(`cidr:${otherCidr}`), POLICED);
});

Deno.test("smtpd_forbid_bare_newline_exclusions as an inline: table", async () => {
  assert.equal(await bareLfReply("inline:{ 127.0.0.1=yes }"), EXCLUDED);
  assert.equal(await bareLfReply("inline:{ 127.0.0.2=yes }"), POLICED);
});

Deno.test("smtpd_forbid_bare_newline_exclusions with !negation: first match decides", async () => {
  assert.equal(await bareLfReply("!127.0.0.1, 127.0.0.0/8"), POLICED);
  assert.equal(await bareLfReply("!127.0.0.2, 127.0.0.0/8"), EXCLUDED);
  assert.equal(await bareLfReply(`!cidr:${loopbackCidr}, 0.0.0.0/0`), POLICED);
  assert.equal(await bareLfReply(`!cidr:${otherCidr}, 0.0.0.0/0`), EXCLUDED);
});

/** With a limit of one connection per client, is a second one from 127.0.0.1 greeted? */
async function secondConnection(exceptions: string): Promise<string> {
  const srv = await startTestServer(
    "smtpd_client_connection_count_limit = 1\n" +
      `smtpd_client_connection_limit_exceptions = ${JSON.stringify(exceptions)}`,
  );
  try {
    const first = await RawClient.open(srv.port);
    const second = await RawClient.connect(srv.port);
    const reply = await second.reply();
    for (const c of [first.client, second]) c.close();
    return reply;
  } finally {
    await srv.close();
  }
}

const GREETED = `220 ${HOSTNAME} ESMTP facteur`;
const REFUSED = `421 4.7.0 ${HOSTNAME} Error: too many connections from 127.0.0.1`;

Deno.test("smtpd_client_connection_limit_exceptions as a table", async () => {
  assert.equal(await secondConnection(`cidr:${loopbackCidr}`), GREETED);
  assert.equal(await secondConnection(`cidr:${otherCidr}`), REFUSED);
  assert.equal(await secondConnection("inline:{ 127.0.0.1=x }"), GREETED);
  assert.equal(await secondConnection("!127.0.0.1 127.0.0.0/8"), REFUSED);
});

for (
  const param of [
    "smtpd_forbid_bare_newline_exclusions",
    "smtpd_client_connection_limit_exceptions",
  ]
) {
  Deno.test(`a bad entry in ${param} is a ConfigError naming it, at start-up and in check`, async () => {
    const bad: [string, RegExp][] = [
      ["127.0.0.1/8", /non-null host address bits in "127.0.0.1\/8"/],
      ["10.0.0.0/33", /bad network prefix length "\/33"/],
      ["[zz::1]", /"zz::1" is not a valid IPv6 address/],
      ["nosuchtype:/x", /nosuchtype/],
      [`cidr:${dir}/missing.cidr`, /missing\.cidr/],
      [`${dir}/missing-list`, /cannot read pattern file/],
    ];
    for (const [value, detail] of bad) {
      const toml = `${param} = ${JSON.stringify(value)}`;
      const isNamed = (e: unknown) =>
        e instanceof ConfigError && e.param === param &&
        e.message.includes(`parameter "${param}": `) && detail.test(e.message);
      assert.throws(() => readSettings(parseConfig(toml)), isNamed, value);
      await assert.rejects(startTestServer(toml), isNamed, value);
      // `facteur check` and `facteur serve` build the daemons first.
      const withService = `${toml}\n[services.smtp]\nlisten = "127.0.0.1:0"\n`;
      assert.throws(() => buildDaemons(parseConfig(withService), () => {}), isNamed, value);
    }
  });
}
