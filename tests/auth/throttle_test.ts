import { equal, ok } from "node:assert/strict";
import { clientKey, LoginThrottle } from "../../src/auth/throttle.ts";

function setup() {
  let now = 1_000_000;
  const throttle = new LoginThrottle({ now: () => now });
  return { throttle, advance: (ms: number) => (now += ms) };
}

function fail(throttle: LoginThrottle, client: string, account: string, times: number) {
  for (let i = 0; i < times; i++) throttle.recordFailure(client, account);
}

Deno.test("throttle: one typo costs nothing; repeated failures double the delay up to a cap", () => {
  const { throttle } = setup();
  equal(throttle.delayFor("127.0.0.1", "alice"), 0);
  throttle.recordFailure("127.0.0.1", "alice");
  equal(throttle.delayFor("127.0.0.1", "alice"), 0);
  const delays = [];
  for (let i = 0; i < 8; i++) {
    throttle.recordFailure("127.0.0.1", "alice");
    delays.push(throttle.delayFor("127.0.0.1", "alice"));
  }
  equal(delays.join(","), "1000,2000,4000,8000,16000,30000,30000,30000");
});

Deno.test("throttle: an attacker on one account from many addresses is slowed on every address", () => {
  const { throttle } = setup();
  for (let i = 1; i <= 20; i++) throttle.recordFailure(`127.0.1.${i}`, "alice");
  ok(throttle.delayFor("127.0.1.99", "alice") >= 1000);
  ok(throttle.delayFor("127.0.1.99", "ALICE") >= 1000, "accounts compare case-insensitively");
  ok(throttle.delayFor("127.0.1.99", "alice") <= 10_000, "the account cap is lower");
});

Deno.test("throttle: an attacker on many accounts from one address is slowed for every account", () => {
  const { throttle } = setup();
  for (let i = 0; i < 20; i++) throttle.recordFailure("127.0.0.9", `user${i}`);
  ok(throttle.delayFor("127.0.0.9", "someone-else") >= 1000);
});

Deno.test("throttle: a locked-out attacker does not slow users of other accounts elsewhere", () => {
  const { throttle } = setup();
  fail(throttle, "127.0.0.66", "alice", 50);
  for (let i = 0; i < 50; i++) throttle.recordFailure(`127.0.2.${i}`, "alice");
  equal(throttle.delayFor("127.0.0.7", "bob"), 0);
  equal(throttle.delayFor("127.0.0.8", "carol"), 0);
});

Deno.test("throttle: the owner of an attacked account, on an address he used before, is not slowed", () => {
  const { throttle } = setup();
  throttle.recordSuccess("127.0.0.5", "alice");
  for (let i = 0; i < 50; i++) throttle.recordFailure(`127.0.3.${i}`, "alice");
  equal(throttle.delayFor("127.0.0.5", "alice"), 0);
  ok(throttle.delayFor("127.0.0.6", "alice") > 0, "a new address for alice is slowed");
});

Deno.test("throttle: a user behind the attacker's address (NAT) keeps his trusted pair", () => {
  const { throttle } = setup();
  throttle.recordSuccess("127.0.0.10", "bob");
  for (let i = 0; i < 30; i++) throttle.recordFailure("127.0.0.10", `victim${i}`);
  equal(throttle.delayFor("127.0.0.10", "bob"), 0);
  ok(throttle.delayFor("127.0.0.10", "newcomer") > 0);
});

Deno.test("throttle: a success resets its pair but not the client's penalty", () => {
  const { throttle } = setup();
  for (let i = 0; i < 10; i++) throttle.recordFailure("127.0.0.11", `victim${i}`);
  fail(throttle, "127.0.0.11", "mallory", 3);
  throttle.recordSuccess("127.0.0.11", "mallory");
  equal(throttle.delayFor("127.0.0.11", "mallory"), 0);
  ok(
    throttle.delayFor("127.0.0.11", "victim11") >= 1000,
    "his own login does not clear his penalty",
  );
});

Deno.test("throttle: failures are forgotten after the window; trust expires", () => {
  const { throttle, advance } = setup();
  fail(throttle, "127.0.0.1", "alice", 5);
  ok(throttle.delayFor("127.0.0.1", "alice") > 0);
  advance(15 * 60_000 + 1);
  equal(throttle.delayFor("127.0.0.1", "alice"), 0);
  throttle.recordSuccess("127.0.0.2", "bob");
  advance(31 * 24 * 3_600_000);
  for (let i = 0; i < 30; i++) throttle.recordFailure(`127.0.4.${i}`, "bob");
  ok(throttle.delayFor("127.0.0.2", "bob") > 0);
});

Deno.test("throttle: memory stays bounded under a flood of distinct addresses and accounts", () => {
  let now = 0;
  const throttle = new LoginThrottle({ now: () => now, policy: { maxKeys: 1000 } });
  for (let i = 0; i < 20_000; i++) {
    now++;
    throttle.recordFailure(`127.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, `u${i}`);
    throttle.recordSuccess(`127.0.0.1`, `u${i}`);
  }
  ok(throttle.size <= 2000, `size ${throttle.size}`);
  // The most recent attacker is still tracked.
  fail(throttle, "127.9.9.9", "target", 10);
  ok(throttle.delayFor("127.9.9.9", "target") > 0);
});

Deno.test("throttle: IPv6 clients count per /64, IPv4-mapped as IPv4", () => {
  equal(clientKey("::1"), "0:0:0:0::/64");
  equal(clientKey("2001:db8:0:1::5"), clientKey("2001:db8:0:1:ffff::9"));
  equal(clientKey("[2001:DB8:0:1::5]"), "2001:db8:0:1::/64");
  equal(clientKey("::ffff:127.0.0.1"), "127.0.0.1");
  equal(clientKey("127.0.0.1"), "127.0.0.1");
  const { throttle } = setup();
  for (let i = 0; i < 20; i++) throttle.recordFailure(`::1:${i}`, `user${i}`);
  ok(throttle.delayFor("::2", "other") > 0, "the whole /64 is one client");
});
