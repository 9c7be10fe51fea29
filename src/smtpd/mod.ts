/** The SMTP server: a listener whose connections each run an SmtpSession. */
import type { Socket } from "node:net";
import { Connection } from "../net/connection.ts";
import { listen, type RefusalReason } from "../net/listener.ts";
import { SmtpSession } from "./session.ts";
import { readSettings, type SmtpdSettings } from "./settings.ts";
import type { SmtpdDeps } from "./types.ts";

export type {
  CleanupRequest,
  ReceivedProtocol,
  SmtpdContext,
  SmtpdDeps,
  SmtpdPolicy,
} from "./types.ts";
export { readSettings, type SmtpdSettings } from "./settings.ts";
export { SmtpSession } from "./session.ts";

export interface SmtpServer {
  /** The bound address (the real port when 0 was asked for). */
  address: { host: string; port: number };
  /** Stops accepting; open sessions get a few seconds to finish, then are cut. */
  close(): Promise<void>;
}

export interface SmtpListen {
  host: string;
  port: number;
}

/**
 * Starts an smtpd service. Configuration values are read now, so a bad one
 * rejects here with a ConfigError instead of failing sessions later.
 */
export async function startSmtpServer(deps: SmtpdDeps, where: SmtpListen): Promise<SmtpServer> {
  const settings = readSettings(deps.config, deps.processLimit, deps.openTable);
  const listener = await listen(
    { host: where.host, port: where.port },
    (socket) => serveConnection(socket, deps, settings),
    {
      maxConnections: settings.processLimit,
      maxPerClient: settings.clientConnectionLimit,
      exemptFromClientLimit: (client) => isLimitException(client, deps, settings),
      refuse: (socket, reason, client) => refuse(socket, reason, client, deps, settings),
      onError: (e) => deps.log?.(`warning: listener: ${e.message}`),
    },
  );
  return { address: listener.address, close: () => listener.close() };
}

/**
 * postconf(5) smtpd_client_connection_limit_exceptions (default $mynetworks).
 * A table that cannot answer exempts nobody: the limit stays the safe side.
 */
async function isLimitException(client: string, deps: SmtpdDeps, settings: SmtpdSettings) {
  try {
    return await settings.clientLimitExceptions.match(client);
  } catch (e) {
    deps.log?.(`warning: smtpd_client_connection_limit_exceptions: ${(e as Error).message}`);
    return false;
  }
}

async function serveConnection(socket: Socket, deps: SmtpdDeps, settings: SmtpdSettings) {
  const conn = new Connection(socket, {
    timeoutMs: settings.timeoutMs,
    perRecordDeadline: settings.perRecordDeadline,
    highWaterMark: Math.max(256 * 1024, settings.lineLengthLimit * 4),
  });
  await new SmtpSession(conn, deps, settings).run();
}

/**
 * A connection over a limit is answered with 421 instead of the greeting.
 * Postfix leaves connections over maxproc waiting in the listen backlog
 * until a process frees up; facteur answers them at once instead, so a
 * client can try another MX rather than time out.
 */
function refuse(
  socket: Socket,
  reason: RefusalReason,
  client: string,
  deps: SmtpdDeps,
  settings: SmtpdSettings,
): void {
  const log = (line: string) => deps.log?.(line);
  if (reason === "client_limit") {
    // anvil(8) / smtpd(8) smtpd_client_connection_count_limit
    log(`warning: Connection concurrency limit exceeded from unknown[${client}]`);
    socket.end(`421 4.7.0 ${settings.myhostname} Error: too many connections from ${client}\r\n`);
  } else {
    log(`warning: process limit ${settings.processLimit} reached, refusing unknown[${client}]`);
    socket.end("421 4.3.2 All server ports are busy\r\n");
  }
}
