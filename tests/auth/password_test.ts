import { equal, match, notEqual, ok } from "node:assert/strict";
import { requirePeer } from "../peers.ts";
import {
  DEFAULT_HASH_PARAMS,
  hashPassword,
  needsRehash,
  verifyPassword,
} from "../../src/auth/password.ts";
import { doveadmHash, doveadmVerifies } from "./dovecot.ts";

const doveadm = requirePeer("doveadm", "dovecot-core");

Deno.test("password: hashPassword writes {ARGON2ID} with OWASP parameters and a fresh salt", async () => {
  const a = await hashPassword("pässwörd");
  const b = await hashPassword("pässwörd");
  match(a, /^\{ARGON2ID\}\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
  notEqual(a, b);
  const result = await verifyPassword("pässwörd", a);
  equal(result.ok, true);
  equal(result.rehash, false);
  equal(result.scheme, "ARGON2ID");
  equal((await verifyPassword("passwörd", a)).ok, false);
  equal((await verifyPassword("pässwörd ", a)).ok, false);
});

Deno.test({
  name: "password: Dovecot accepts facteur's hashes (same notation both ways)",
  ...doveadm,
  fn: async () => {
    for (const password of ["secret", "pässwörd ☃ 密码", "y".repeat(500)]) {
      const hash = await hashPassword(password);
      ok(await doveadmVerifies(hash, password), `doveadm rejected ${hash}`);
      equal(await doveadmVerifies(hash, password + "x"), false);
    }
  },
});

Deno.test({
  name: "password: a correct login on an imported or differently tuned hash asks for a rehash",
  ...doveadm,
  fn: async () => {
    for (const scheme of ["SHA512-CRYPT", "BLF-CRYPT", "PLAIN", "SSHA512", "ARGON2ID"]) {
      const stored = await doveadmHash(scheme, "secret");
      const good = await verifyPassword("secret", stored);
      equal(good.ok, true, stored);
      // Dovecot's ARGON2ID default is m=65536,t=3: rewritten to facteur's own cost.
      equal(good.rehash, true, stored);
      const bad = await verifyPassword("wrong", stored);
      equal(bad.ok, false);
      equal(bad.rehash, false, "never rehash on a failed login");
    }
  },
});

Deno.test("password: needsRehash compares scheme and every Argon2 parameter", async () => {
  const current = await hashPassword("x");
  equal(needsRehash(current), false);
  const weaker = await hashPassword("x", { ...DEFAULT_HASH_PARAMS, memoryKiB: 8192 });
  equal(needsRehash(weaker), true);
  const argon2i = await hashPassword("x", { ...DEFAULT_HASH_PARAMS, type: "argon2i" });
  match(argon2i, /^\{ARGON2I\}\$argon2i\$/);
  equal(needsRehash(argon2i), true);
  equal((await verifyPassword("x", argon2i)).ok, true);
  equal(needsRehash("{ARGON2ID}garbage"), true);
});

Deno.test("password: garbage and unknown schemes give ok=false with an error, never a throw", async () => {
  const unknown = await verifyPassword("x", "{NOPE}x");
  equal(unknown.ok, false);
  equal(unknown.rehash, false);
  match(unknown.error ?? "", /\{NOPE\}: unknown password scheme/);
  const garbage = await verifyPassword("x", "{ARGON2ID}$argon2id$v=19$m=1,t=1,p=1$$");
  equal(garbage.ok, false);
  match(garbage.error ?? "", /not an Argon2 string/);
});

Deno.test("password: cost of hashPassword and event-loop blocking, reported", async () => {
  await hashPassword("warm-up");
  let last = performance.now();
  let maxGap = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
  }, 1);
  await new Promise((r) => setTimeout(r, 10));
  const runs = 5;
  let total = 0;
  last = performance.now();
  maxGap = 0;
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await hashPassword("benchmark password");
    total += performance.now() - start;
    await new Promise((r) => setTimeout(r, 3)); // let the ticker run between hashes
  }
  const each = total / runs;
  await new Promise((r) => setTimeout(r, 5));
  clearInterval(ticker);
  console.log(
    `hashPassword (argon2id m=19456,t=2,p=1): ${each.toFixed(0)} ms per hash; ` +
      `longest event-loop stall ${maxGap.toFixed(0)} ms`,
  );
  // A sanity bound, not a benchmark: far slower means the parameters went wrong.
  ok(each < 2000, `${each} ms per hash`);
  ok(each > 5, "a memory-hard hash cannot be this cheap");
});
