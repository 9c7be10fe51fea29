/**
 * Outbound delivery end to end: the real server relays mail from mynetworks
 * through relayhost, and by MX records from dnsmasq, to Postfix's smtp-sink(1)
 * on loopback addresses; 5xx bounces, a dead host defers.
 */
import assert from "node:assert/strict";
import { requirePeer } from "../peers.ts";
import { eventually, mailbox, maildirMessages } from "./harness.ts";
import { dumped, inScenario, send, startSink } from "./sink.ts";

const sinkPeer = requirePeer("smtp-sink", "postfix");
const dnsmasqPeer = requirePeer("dnsmasq", "dnsmasq-base");

Deno.test({
  name: "relayhost [127.0.0.1]:port: mail to a remote address reaches the smtp-sink",
  ...sinkPeer,
  fn: inScenario(async (s) => {
    const port = s.sinkPort;
    const dir = await s.sink("127.0.0.1");
    const server = await s.server({ toml: `relayhost = "[127.0.0.1]:${port}"` });
    const id = await send(server.port, "bob@remote.test", "via relayhost");
    await server.waitForLog(
      new RegExp(
        `${id}: to=<bob@remote\\.test>, relay=127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:${port}, .*status=sent`,
      ),
    );
    const got = await dumped(dir, 1);
    assert.match(got[0], /^X-Mail-Args: <alice@example\.test>/m);
    assert.match(got[0], /^X-Rcpt-Args: <bob@remote\.test>/m);
    assert.match(got[0], /^Subject: via relayhost$/m);
    assert.match(got[0], /^X-Helo-Args: mail\.example\.test$/m);
  }),
});

Deno.test({
  name: "MX routing through dnsmasq: sent to the MX host, 5xx bounced, dead host deferred",
  ignore: sinkPeer.ignore || dnsmasqPeer.ignore,
  fn: inScenario(async (s) => {
    const { sinkPort } = s;
    await s.dns([
      "--mx-host=remote.test,mx1.remote.test,10",
      "--host-record=mx1.remote.test,127.0.0.2",
      "--mx-host=refuses.test,mx.refuses.test,10",
      "--host-record=mx.refuses.test,127.0.0.4",
      "--mx-host=dead.test,mx.dead.test,10",
      "--host-record=mx.dead.test,127.0.0.3",
    ]);
    const dir = await s.sink("127.0.0.2");
    s.add(await startSink("127.0.0.4", sinkPort, ["-f", "RCPT"])); // refuses every RCPT
    const server = await s.server();
    const sent = await send(server.port, "carol@remote.test", "by MX");
    await server.waitForLog(
      new RegExp(
        `${sent}: to=<carol@remote\\.test>, relay=mx1\\.remote\\.test\\[127\\.0\\.0\\.2\\]:${sinkPort}, .*status=sent`,
      ),
    );
    const got = await dumped(dir, 1);
    assert.match(got[0], /^X-Rcpt-Args: <carol@remote\.test>/m);
    assert.match(got[0], /^Subject: by MX$/m);

    const bounced = await send(server.port, "dave@refuses.test", "refused");
    await server.waitForLog(
      new RegExp(
        `${bounced}: to=<dave@refuses\\.test>, relay=mx\\.refuses\\.test\\[127\\.0\\.0\\.4\\]:${sinkPort}, .*dsn=5\\.\\d+\\.\\d+, status=bounced \\(host mx\\.refuses\\.test\\[127\\.0\\.0\\.4\\] said: 5`,
      ),
    );

    // The refusal comes back to alice as an RFC 3464 report with the remote reply.
    const [report] = await eventually(async () => {
      const got = await maildirMessages(mailbox(server, "alice"));
      return got.length === 1 ? got : undefined;
    });
    const dsn = new TextDecoder().decode(report.bytes).replaceAll("\r\n", "\n");
    assert.match(dsn, /^Content-Type: multipart\/report; report-type=delivery-status/m);
    assert.match(dsn, /^Final-Recipient: rfc822; dave@refuses\.test$/m);
    assert.match(dsn, /^Action: failed$/m);
    assert.match(dsn, /^Status: 5\.\d+\.\d+$/m);
    assert.match(dsn, /^Remote-MTA: dns; mx\.refuses\.test$/m);
    assert.match(dsn, /^Diagnostic-Code: smtp; 5\d\d /m);
    assert.match(dsn, /^Subject: refused$/m, "the original's headers are returned");

    const deferred = await send(server.port, "erin@dead.test", "nobody home");
    await server.waitForLog(
      new RegExp(
        `${deferred}: to=<erin@dead\\.test>, relay=none, .*dsn=4\\.4\\.1, status=deferred \\(connect to mx\\.dead\\.test\\[127\\.0\\.0\\.3\\]:${sinkPort}: Connection refused\\)`,
      ),
    );
  }),
});
