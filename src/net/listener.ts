/**
 * A TCP or unix-domain listener on node:net (so accepted sockets can later
 * be upgraded to TLS in place) with the two admission limits Postfix applies before a
 * session starts: the service's process limit (master.cf maxproc) and the
 * number of concurrent connections per client address (anvil(8),
 * smtpd_client_connection_count_limit).
 */
import { createServer, type Server, type Socket } from "node:net";
import { normalizeAddress } from "../maps/ip.ts";

export type RefusalReason = "process_limit" | "client_limit";

export interface ListenOptions {
  /** Concurrent sessions allowed; 0 or undefined = no limit. */
  maxConnections?: number;
  /** Concurrent sessions allowed per client IP address; 0 or undefined = no limit. */
  maxPerClient?: number;
  /**
   * Clients the per-client limit does not apply to. Asked only for a client
   * at its limit; that connection waits for the answer (the others do not),
   * and an answer that rejects exempts nobody.
   */
  exemptFromClientLimit?: (clientAddress: string) => boolean | Promise<boolean>;
  /**
   * Called instead of onConnection for a connection over a limit: write the
   * protocol's refusal and end the socket. The default just closes it.
   */
  refuse?: (socket: Socket, reason: RefusalReason, clientAddress: string) => void;
  /** How long close() lets sessions finish before cutting them (ms, default 5000). */
  closeGraceMs?: number;
  /** Errors of the listening socket after it started (EMFILE, ...). */
  onError?: (error: Error) => void;
}

/** Where to listen: a TCP address, or a unix-domain socket path (with its file mode). */
export type ListenAddress = { host: string; port: number } | { path: string; mode?: number };

export interface Listener {
  /** The bound address; port is the real one when 0 was asked for (a socket: its path, port 0). */
  address: { host: string; port: number };
  /** Sessions open right now. */
  readonly connections: number;
  /**
   * Stops accepting, lets open sessions end for up to `graceMs` (default:
   * closeGraceMs), then destroys what is left. Resolves when all are closed.
   */
  close(graceMs?: number): Promise<void>;
}

/**
 * Listens on host:port and calls onConnection for each admitted socket. The
 * promise it returns is tracked: the connection counts until both it settled
 * and the socket closed.
 */
export function listen(
  where: ListenAddress,
  onConnection: (socket: Socket) => void | Promise<void>,
  options: ListenOptions = {},
): Promise<Listener> {
  const sockets = new Set<Socket>();
  const perClient = new Map<string, number>();
  const server: Server = createServer({ allowHalfOpen: false, pauseOnConnect: false });

  const release = (client: string) => {
    const n = (perClient.get(client) ?? 1) - 1;
    if (n <= 0) perClient.delete(client);
    else perClient.set(client, n);
  };

  /** Counts the session until both it settled and the socket closed. */
  const admit = (socket: Socket, client: string) => {
    // Replies are small writes; Nagle would hold one back until the client's delayed ACK.
    socket.setNoDelay(true);
    sockets.add(socket);
    perClient.set(client, (perClient.get(client) ?? 0) + 1);
    let socketClosed = false;
    let sessionDone = false;
    const finish = () => {
      if (!socketClosed || !sessionDone) return;
      sockets.delete(socket);
      release(client);
    };
    socket.once("close", () => {
      socketClosed = true;
      finish();
    });
    Promise.resolve()
      .then(() => onConnection(socket))
      .catch(() => socket.destroy())
      .finally(() => {
        sessionDone = true;
        finish();
      });
  };

  /**
   * A client at its limit, unless exempt. While the (maybe slow) answer is
   * awaited the socket holds its process slot, and close() can cut it.
   */
  const admitIfExempt = async (
    socket: Socket,
    client: string,
    exempt: (client: string) => boolean | Promise<boolean>,
  ) => {
    sockets.add(socket);
    const exempted = await Promise.resolve()
      .then(() => exempt(client))
      .catch((e) => {
        options.onError?.(e instanceof Error ? e : new Error(String(e)));
        return false;
      });
    sockets.delete(socket);
    if (socket.destroyed) return; // the client left, or close() cut it
    // Other sessions of this client may have ended meanwhile: count again.
    const fromClient = exempted ? 0 : perClient.get(client) ?? 0;
    if (!overLimit(0, fromClient, options)) admit(socket, client);
    else refuseSocket(socket, "client_limit", client, options.refuse);
  };

  server.on("connection", (socket: Socket) => {
    const client = normalizeAddress(socket.remoteAddress ?? "");
    socket.on("error", () => {}); // reported to the session through its own listeners
    const refusal = overLimit(sockets.size, perClient.get(client) ?? 0, options);
    if (refusal === "client_limit" && options.exemptFromClientLimit) {
      void admitIfExempt(socket, client, options.exemptFromClientLimit);
    } else if (refusal) {
      refuseSocket(socket, refusal, client, options.refuse);
    } else {
      admit(socket, client);
    }
  });

  if ("path" in where) removeStaleSocket(where.path);
  return new Promise((resolve, reject) => {
    const onStartError = (e: Error) => reject(e);
    server.once("error", onStartError);
    const target = "path" in where ? { path: where.path } : { host: where.host, port: where.port };
    server.listen(target, () => {
      server.off("error", onStartError);
      server.on("error", (e: Error) => options.onError?.(e));
      if ("path" in where && where.mode !== undefined) Deno.chmodSync(where.path, where.mode);
      const bound = server.address();
      const port = typeof bound === "object" && bound ? bound.port : 0;
      const host = "path" in where
        ? where.path
        : typeof bound === "object" && bound
        ? bound.address
        : where.host;
      resolve({
        address: { host, port },
        get connections() {
          return sockets.size;
        },
        close: (graceMs = options.closeGraceMs ?? 5000) => closeServer(server, sockets, graceMs),
      });
    });
  });
}

/** A socket file left by a process that is gone would make listen fail with EADDRINUSE. */
function removeStaleSocket(path: string): void {
  try {
    if (Deno.lstatSync(path).isSocket) Deno.removeSync(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

/** Which limit a new connection would exceed, if any. */
export function overLimit(
  open: number,
  openFromClient: number,
  options: Pick<ListenOptions, "maxConnections" | "maxPerClient">,
): RefusalReason | undefined {
  if (options.maxConnections && open >= options.maxConnections) return "process_limit";
  if (options.maxPerClient && openFromClient >= options.maxPerClient) return "client_limit";
  return undefined;
}

function refuseSocket(
  socket: Socket,
  reason: RefusalReason,
  client: string,
  refuse: ListenOptions["refuse"],
): void {
  // Don't let a refused client hold the socket open.
  const timer = setTimeout(() => socket.destroy(), 10_000);
  socket.once("close", () => clearTimeout(timer));
  try {
    if (refuse) refuse(socket, reason, client);
    else socket.end();
  } catch {
    socket.destroy();
  }
}

async function closeServer(server: Server, sockets: Set<Socket>, graceMs: number): Promise<void> {
  const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
  const deadline = Date.now() + graceMs;
  while (sockets.size > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
  }
  for (const socket of sockets) socket.destroy();
  await stopped;
}
