import assert from "node:assert/strict";
import { parseConfig } from "../../src/config/mod.ts";
import { buildDaemons } from "../../src/master/mod.ts";
import { serviceEndpoints } from "../../src/master/listen.ts";

const TOML = `alias_maps = ""
[services.smtp]
listen = "127.0.0.1:2525"
[services.mysmtp]
type = "unix"
command = "smtp"
process_limit = 10
smtp_helo_name = "other.example"
[services.dove]
command = "lmtp"
[services.blackhole]
command = "discard"
[services.later]
command = "smtp"
enabled = false
`;

Deno.test("declared delivery services become transports by their name, with their process_limit", () => {
  const config = parseConfig(TOML);
  const daemons = buildDaemons(config, () => {});
  const names = Object.keys(daemons.transports).sort();
  assert.deepEqual(names, [
    "blackhole",
    "discard",
    "dove",
    "error",
    "lmtp",
    "local",
    "mysmtp",
    "relay",
    "smtp",
    "virtual",
  ]);
  for (const name of names) assert.equal(daemons.transports[name].name, name);
  assert.deepEqual(daemons.processLimits, { mysmtp: 10 });
});

Deno.test("delivery services listen nowhere; a unix smtpd service is still refused", () => {
  const config = parseConfig(TOML);
  const [smtp, mysmtp] = config.services;
  assert.deepEqual(serviceEndpoints(mysmtp, config), []);
  assert.deepEqual(serviceEndpoints(smtp, config), [{ host: "127.0.0.1", port: 2525 }]);
  const unix = parseConfig(`[services.x]\ntype = "unix"\nlisten = "/run/x"\ncommand = "smtpd"`);
  assert.throws(() => serviceEndpoints(unix.services[0], unix), /type "unix": .* TCP only so far/);
});

Deno.test("a delivery service's bad override is a start-up error naming its table", () => {
  assert.throws(
    () =>
      parseConfig(
        `[services.mysmtp]\ncommand = "smtp"\nsmtp_connect_timeout = "soon"\n`,
        "/f.toml",
      ),
    /\/f\.toml:3: .*smtp_connect_timeout/,
  );
});
