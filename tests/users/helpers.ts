/** Fixtures for the users tests: a store in a temporary directory, cheap Argon2id. */
import type { HashParams } from "../../src/auth/password.ts";
import { openUsersStore, type StoreOptions, type UsersStore } from "../../src/users/mod.ts";

/** Argon2id with little memory: the same code path, milliseconds instead of 80 ms per hash. */
export const FAST_HASH: HashParams = {
  type: "argon2id",
  memoryKiB: 64,
  iterations: 1,
  parallelism: 1,
  saltBytes: 16,
  hashBytes: 32,
};

export async function withStore(
  fn: (store: UsersStore, dir: string) => Promise<void>,
  opts: StoreOptions = {},
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "facteur-users-" });
  const store = openUsersStore(dir, { hashParams: FAST_HASH, warn: () => {}, ...opts });
  try {
    await fn(store, dir);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs `doveadm pw -s SCHEME -p PASSWORD` (Debian dovecot-core) and returns its output. */
export async function doveadmPw(scheme: string, password: string): Promise<string> {
  const out = await new Deno.Command("doveadm", {
    args: ["pw", "-s", scheme, "-p", password],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).trim();
}
