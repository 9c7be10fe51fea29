/**
 * Differential test: the RCPT TO replies of a real Postfix (a private
 * instance on loopback) and of facteur's smtpd policy, for the same
 * parameters and tables, one address of each ADDRESS_CLASS_README class
 * and each relocated_maps / transport_maps error case.
 */
import assert from "node:assert/strict";
import { Config } from "../../src/config/mod.ts";
import { openInline } from "../../src/maps/inline.ts";
import { Rewriter } from "../../src/rewrite/mod.ts";
import { Policy } from "../../src/smtpd/policy.ts";
import { postfixUnavailable, startPostfix } from "../peers/postfix.ts";

/** main.cf for both servers; mynetworks leaves the loopback client out, to test relay permission. */
const MAIN: Record<string, string> = {
  myhostname: "postfix.test",
  mydestination: "local.test",
  mynetworks: "192.0.2.0/24",
  alias_maps: "",
  local_recipient_maps: "inline:{ alice=1 }",
  virtual_alias_domains: "valias.test",
  virtual_alias_maps: "inline:{ sales@valias.test=alice@local.test, " +
    "{team@valias.test=alice@local.test, bob@vmbox.test}, @catch.test=alice@local.test, " +
    "ann@vmbox.test=alice@local.test }",
  virtual_mailbox_domains: "vmbox.test",
  virtual_mailbox_maps: "inline:{ bob@vmbox.test=vmbox.test/bob/, gone@vmbox.test=x/ }",
  relay_domains: "relay.test, catch.test",
  relay_recipient_maps: "inline:{ carol@relay.test=ok, moved@relay.test=ok, dead@relay.test=ok }",
  relocated_maps: "inline:{ old@local.test=new@example.org, @moved.test=contact@example.org, " +
    "gone@vmbox.test=somewhere@else.test, moved@relay.test=x@y.test, alice=alice@new.test, " +
    "sales@valias.test=s@new.test, lost@valias.test=l@new.test }",
  transport_maps: "inline:{ {dead@relay.test=error:5.1.2 mailbox is dead}, " +
    "{dead2@relay.test=error:nothing here}, relay.test=relay:[127.0.0.1]:9 }",
};

const ADDRESSES = [
  "alice@local.test", // relocated by its bare user name
  "nobody@local.test", // local_recipient_maps
  "old@local.test",
  "postmaster@local.test",
  "mailer-daemon@local.test",
  "sales@valias.test", // a virtual alias wins over relocated
  "team@valias.test",
  "x@valias.test", // no alias
  "lost@valias.test", // relocated in a virtual alias domain
  "bob@vmbox.test",
  "ann@vmbox.test", // alias in a virtual mailbox domain
  "zz@vmbox.test",
  "gone@vmbox.test",
  "carol@relay.test",
  "zz@relay.test",
  "moved@relay.test",
  "dead@relay.test",
  "dead2@relay.test",
  "anyone@catch.test", // catch-all alias
  "x@moved.test", // default class: relay permission first
  "x@other.test",
  "alice+foo@local.test", // recipient_delimiter is empty
];

/** facteur accepts postmaster@ every domain it receives for (RFC 5321 4.5.1); Postfix only local ones. */
const KNOWN_DIFFERENCES: Record<string, [postfix: RegExp, facteur: string]> = {
  "postmaster@valias.test": [/^550 5\.1\.1 .*virtual alias table$/, "250 2.1.5 Ok"],
  "postmaster@vmbox.test": [/^550 5\.1\.1 .*virtual mailbox table$/, "250 2.1.5 Ok"],
};

async function postfixReplies(addresses: string[]): Promise<string[]> {
  const pf = await startPostfix({ mainCf: MAIN });
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: pf.port });
    const dec = new TextDecoder();
    let buf = "";
    const read = async () => {
      while (!/(^|\n)\d{3} [^\n]*\r\n$/.test(buf)) {
        const b = new Uint8Array(4096);
        const n = await conn.read(b);
        if (n === null) throw new Error(`Postfix closed the connection: ${buf}`);
        buf += dec.decode(b.subarray(0, n));
      }
      const lines = buf.trimEnd().split("\r\n");
      buf = "";
      return lines[lines.length - 1];
    };
    const cmd = async (c: string) => {
      await conn.write(new TextEncoder().encode(c + "\r\n"));
      return await read();
    };
    await read();
    await cmd("EHLO client.test");
    await cmd("MAIL FROM:<s@example.com>");
    const out: string[] = [];
    for (const a of addresses) {
      out.push(await cmd(`RCPT TO:<${a}>`));
      await cmd("RSET"); // smtpd_hard_error_limit stays far
      await cmd("MAIL FROM:<s@example.com>");
    }
    await cmd("QUIT");
    conn.close();
    return out;
  } finally {
    await pf.stop();
  }
}

async function facteurReplies(addresses: string[]): Promise<string[]> {
  const config = new Config({ ...MAIN, inet_interfaces: "loopback-only" });
  const openTable = (spec: string) => openInline(spec, spec.slice("inline:".length));
  const policy = new Policy(config, { openTable, rewrite: new Rewriter(config, { openTable }) });
  const out: string[] = [];
  for (const recipient of addresses) {
    const err = await policy.onRcpt({
      client: { address: "127.0.0.1", port: 0 },
      helo: "client.test",
      esmtp: true,
      sender: "s@example.com",
      recipient,
      recipients: [],
      tls: false,
    });
    out.push(err?.reply ?? "250 2.1.5 Ok");
  }
  return out;
}

Deno.test({
  name: "RCPT replies per address class, relocated and error routes match Postfix",
  ignore: postfixUnavailable() !== null,
  fn: async () => {
    const all = [...ADDRESSES, ...Object.keys(KNOWN_DIFFERENCES)];
    const [postfix, facteur] = [await postfixReplies(all), await facteurReplies(all)];
    const n = ADDRESSES.length;
    const pairs = (replies: string[]) => ADDRESSES.map((a, i) => `${a} ${replies[i]}`);
    assert.deepEqual(pairs(facteur.slice(0, n)), pairs(postfix.slice(0, n)));
    // Spot checks, so a change on both sides is noticed too.
    assert.equal(
      postfix[ADDRESSES.indexOf("old@local.test")],
      "550 5.1.6 <old@local.test>: Recipient address rejected: User has moved to new@example.org",
    );
    assert.equal(postfix[ADDRESSES.indexOf("anyone@catch.test")], "250 2.1.5 Ok");
    Object.entries(KNOWN_DIFFERENCES).forEach(([address, [theirs, ours]], i) => {
      assert.match(postfix[n + i], theirs, address);
      assert.equal(facteur[n + i], ours, address);
    });
  },
});
