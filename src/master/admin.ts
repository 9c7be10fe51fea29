/** The admin service (command = "admin"): the API app of src/admin on its own listener. */
import { adminApp, type AdminDeps, startAdminServer } from "../admin/mod.ts";
import type { Endpoint } from "./listen.ts";

export type { AdminDeps };

export async function startAdminService(
  deps: AdminDeps,
  endpoint: Endpoint,
): Promise<{ address: Endpoint; close(): Promise<void> }> {
  return await startAdminServer(adminApp(deps), endpoint);
}

/**
 * An admin service with an admin_token_file that does not exist yet gets
 * one, created with a fresh token and mode 0600, so the API and the CLI work
 * from the first start without a token ever being typed into the config.
 * Resolves with the path when it created the file.
 */
export async function ensureAdminTokenFile(
  file: string,
  hasAdminService: boolean,
): Promise<string | undefined> {
  if (!hasAdminService || file === "") return undefined;
  const token = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))
    .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  try {
    await Deno.writeTextFile(file, token + "\n", { createNew: true, mode: 0o600 });
    return file;
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) return undefined;
    throw e;
  }
}
