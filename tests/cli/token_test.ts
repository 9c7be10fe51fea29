// `facteur token new`: a random token and the admin_tokens line with its SHA-256.
import assert from "node:assert/strict";
import { newToken, tokenHash, tokenNewText } from "../../src/cli/token.ts";

Deno.test("a token is 32 random bytes in base64url (43 characters), different each time", () => {
  const a = newToken();
  assert.match(a, /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(a, newToken());
  assert.equal(newToken((b) => b.fill(0xff)), "_".repeat(42) + "8");
});

Deno.test("the config line holds sha256: + the hex SHA-256 of the token", () => {
  // sha256("abc"), FIPS 180-2 appendix B.1
  assert.equal(
    tokenHash("abc"),
    "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assert.equal(
    tokenNewText("abc"),
    'abc\nadmin_tokens = ["sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"]\n',
  );
});
