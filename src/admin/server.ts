/** The admin API's listener: Deno.serve in front of the app, stopped gracefully. */
import type { Hono } from "hono";
import type { AdminEnv } from "./types.ts";

export interface AdminServer {
  address: { host: string; port: number };
  /** Stops accepting, lets requests in progress finish, resolves when closed. */
  close(): Promise<void>;
}

/**
 * Where a `[services.admin] listen` value says to listen: "8025" (a bare
 * port: loopback only, the API controls the server), "127.0.0.1:8025",
 * "[::1]:8025", "0.0.0.0:8025".
 */
export function adminListenAddress(listen: string): { host: string; port: number } {
  const m = /^(?:(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]+)):)?(\d{1,5})$/.exec(listen.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new Error(
      `admin listen ${JSON.stringify(listen)}: expected PORT, HOST:PORT or [IPv6]:PORT`,
    );
  }
  return { host: m[1] ?? m[2] ?? "127.0.0.1", port };
}

export function startAdminServer(
  app: Hono<AdminEnv>,
  where: { host: string; port: number },
): Promise<AdminServer> {
  return new Promise((resolve, reject) => {
    try {
      const server = Deno.serve({
        hostname: where.host,
        port: where.port,
        onListen: (addr) => {
          const { hostname, port } = addr as Deno.NetAddr;
          resolve({ address: { host: hostname, port }, close: () => server.shutdown() });
        },
        onError: (err) => {
          // Hono answers its own errors; this is Deno's last resort, still in the contract's shape.
          const message = err instanceof Error ? err.message : String(err);
          return Response.json({ error: { code: "internal", message } }, { status: 500 });
        },
      }, (request, info) => app.fetch(request, info));
    } catch (err) {
      reject(err);
    }
  });
}
