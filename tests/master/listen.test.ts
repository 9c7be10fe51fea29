import assert from "node:assert/strict";
import { parseConfig } from "../../src/config/mod.ts";
import { ConfigError } from "../../src/errors.ts";
import { listenEndpoints, serviceEndpoints } from "../../src/master/listen.ts";

Deno.test("master.cf service addresses: host:port, [v6]:port, port, service names", () => {
  assert.deepEqual(listenEndpoints("127.0.0.1:2525", ["all"], ["all"]), [
    { host: "127.0.0.1", port: 2525 },
  ]);
  assert.deepEqual(listenEndpoints("[::1]:25", ["all"], ["all"]), [{ host: "::1", port: 25 }]);
  assert.deepEqual(listenEndpoints("smtp", ["all"], ["ipv4"]), [{ host: "0.0.0.0", port: 25 }]);
  assert.deepEqual(listenEndpoints("submission", ["all"], ["all"]), [{ host: "::", port: 587 }]);
  assert.deepEqual(listenEndpoints("2525", ["loopback-only"], ["all"]), [
    { host: "127.0.0.1", port: 2525 },
    { host: "::1", port: 2525 },
  ]);
  assert.deepEqual(listenEndpoints("2525", ["192.0.2.1", "[2001:db8::1]"], ["all"]), [
    { host: "192.0.2.1", port: 2525 },
    { host: "2001:db8::1", port: 2525 },
  ]);
});

Deno.test("unusable listen values are ConfigErrors that say what is expected", () => {
  assert.throws(() => listenEndpoints("imap2", ["all"], ["all"]), /expected host:port/);
  assert.throws(() => listenEndpoints("127.0.0.1:70000", ["all"], ["all"]), ConfigError);
  const c = parseConfig(`[services.lmtp]\ntype = "unix"\nlisten = "/run/x"\ncommand = "smtpd"`);
  assert.throws(() => serviceEndpoints(c.services[0], c), /type "unix": .* TCP only so far/);
});
