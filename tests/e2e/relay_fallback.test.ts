/**
 * Outbound destinations end to end: the real server, dnsmasq serving an MX
 * that points to a dead loopback address, and Postfix's smtp-sink(1) reached
 * through smtp_fallback_relay (postconf(5)); a relayhost list (Postfix 3.5)
 * is tried in order the same way.
 */
import assert from "node:assert/strict";
import { requirePeer } from "../peers.ts";
import { dumped, inScenario, send } from "./sink.ts";

const sinkPeer = requirePeer("smtp-sink", "postfix");
const dnsmasqPeer = requirePeer("dnsmasq", "dnsmasq-base");

Deno.test({
  name: "smtp_fallback_relay: the MX host is dead, the message reaches the sink via the fallback",
  ignore: sinkPeer.ignore || dnsmasqPeer.ignore,
  fn: inScenario(async (s) => {
    const { sinkPort } = s;
    await s.dns([
      "--mx-host=remote.test,mx.remote.test,10",
      "--host-record=mx.remote.test,127.0.0.3", // nothing listens: connection refused
    ]);
    const dir = await s.sink("127.0.0.1");
    const server = await s.server({
      toml: s.toml + `smtp_fallback_relay = "[127.0.0.1]:${sinkPort}"\n`,
    });
    const id = await send(server.port, "carol@remote.test", "via the fallback relay");
    await server.waitForLog(
      new RegExp(
        `${id}: to=<carol@remote\\.test>, relay=127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:${sinkPort}, .*status=sent`,
      ),
    );
    const [got] = await dumped(dir, 1);
    assert.match(got, /^X-Mail-Args: <alice@example\.test>/m);
    assert.match(got, /^X-Rcpt-Args: <carol@remote\.test>/m);
    assert.match(got, /^Subject: via the fallback relay$/m);
  }),
});

Deno.test({
  name: "relayhost list: a dead first relay, then the second one delivers",
  ...sinkPeer,
  fn: inScenario(async (s) => {
    const { sinkPort } = s;
    const dir = await s.sink("127.0.0.1");
    const server = await s.server({
      toml: `relayhost = "[127.0.0.3]:${sinkPort}, [127.0.0.1]:${sinkPort}"\n`,
    });
    const id = await send(server.port, "dave@remote.test", "second relay");
    await server.waitForLog(
      new RegExp(
        `${id}: to=<dave@remote\\.test>, relay=127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:${sinkPort}, .*status=sent`,
      ),
    );
    const [got] = await dumped(dir, 1);
    assert.match(got, /^Subject: second relay$/m);
  }),
});
