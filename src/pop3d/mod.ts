/** The POP3 server: a listener whose connections each run a Pop3Session. */
import type { Socket } from "node:net";
import { LoginThrottle } from "../auth/throttle.ts";
import { Connection } from "../net/connection.ts";
import { listen, type ListenAddress, type RefusalReason } from "../net/listener.ts";
import { Pop3Session, type SessionContext } from "./session.ts";
import { pop3dSettings } from "./settings.ts";
import type { Pop3dDeps } from "./types.ts";
import { UserSessions } from "./user_sessions.ts";

export type { Pop3Backend, Pop3dDeps, Pop3Maildrop, Pop3Message } from "./types.ts";
export {
  type ClientSecurity,
  DEFAULT_POP3D_SETTINGS,
  isLoopback,
  type Pop3dSettings,
  pop3dSettings,
} from "./settings.ts";
export { crlfSize, retrText, topText } from "./message_text.ts";
export { Pop3Session } from "./session.ts";

export interface Pop3Server {
  /** The bound address (the real port when 0 was asked for). */
  address: { host: string; port: number };
  /**
   * A configuration reload: connections accepted from now on use these deps;
   * open sessions keep theirs. Per-user session counts carry over. Throws
   * ConfigError, changing nothing, on a bad setting.
   */
  update(deps: Pop3dDeps): void;
  /** Stops accepting; open sessions get `graceMs` (default 5 s) to finish, then are cut. */
  close(graceMs?: number): Promise<void>;
}

/** Starts a pop3d service; settings are checked now, so a bad one rejects with ConfigError. */
export async function startPop3Server(deps: Pop3dDeps, where: ListenAddress): Promise<Pop3Server> {
  const users = new UserSessions();
  const privateThrottle = new LoginThrottle();
  const contextFor = (d: Pop3dDeps): SessionContext => ({
    backend: d.backend,
    settings: pop3dSettings(d.settings),
    throttle: d.throttle ?? privateThrottle,
    users,
    log: (line) => d.log?.(line),
  });
  let current = contextFor(deps);
  const options = {
    maxConnections: current.settings.processLimit,
    maxPerClient: current.settings.clientConnectionLimit,
    refuse: (socket: Socket, reason: RefusalReason, client: string) =>
      refuse(socket, reason, client, current),
    onError: (e: Error) => current.log(`warning: listener: ${e.message}`),
  };
  const listener = await listen(where, (socket) => serve(socket, current), options);
  return {
    address: listener.address,
    update(next: Pop3dDeps) {
      current = contextFor(next);
      options.maxConnections = current.settings.processLimit;
      options.maxPerClient = current.settings.clientConnectionLimit;
    },
    close: (graceMs?: number) => listener.close(graceMs),
  };
}

async function serve(socket: Socket, ctx: SessionContext): Promise<void> {
  const conn = new Connection(socket, { timeoutMs: ctx.settings.timeoutMs });
  await new Pop3Session(conn, ctx).run();
}

/** A connection over a limit gets a "-ERR" greeting (RFC 3206 4: [SYS/TEMP], try later) and is closed. */
function refuse(socket: Socket, reason: RefusalReason, client: string, ctx: SessionContext): void {
  if (reason === "client_limit") {
    ctx.log(`warning: connection concurrency limit exceeded from ${client}`);
    socket.end(`-ERR [SYS/TEMP] Too many connections from ${client}\r\n`);
  } else {
    ctx.log(`warning: process limit ${ctx.settings.processLimit} reached, refusing ${client}`);
    socket.end("-ERR [SYS/TEMP] All server ports are busy, try again later\r\n");
  }
}
