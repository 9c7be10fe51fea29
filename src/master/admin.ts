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
