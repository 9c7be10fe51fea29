/** The SMTP server: a listener whose connections each run an SmtpSession. */
import type { Socket } from "node:net";
import { Connection } from "../net/connection.ts";
import {
  listen,
  type ListenAddress,
  type ListenOptions,
  type RefusalReason,
} from "../net/listener.ts";
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
  /** The bound address (the real port when 0 was asked for; a socket's path, port 0). */
  address: { host: string; port: number };
  /**
   * A configuration reload: connections accepted from now on use these deps
   * (and the settings read from them); open sessions keep theirs. Throws
   * ConfigError, changing nothing, on a bad value.
   */
  update(deps: SmtpdDeps): void;
  /** Stops accepting; open sessions get `graceMs` (default 5 s) to finish, then are cut. */
  close(graceMs?: number): Promise<void>;
}

/**
 * A TCP address, or a unix-domain socket (the pickup service that
 * `facteur sendmail` talks to): its sessions are reported as from localhost.
 */
export type SmtpListen = ListenAddress;

const LOCAL_CLIENT = { address: "127.0.0.1", port: 0 };

/**
 * Starts an smtpd service. Configuration values are read now, so a bad one
 * rejects here with a ConfigError instead of failing sessions later.
 */
export async function startSmtpServer(deps: SmtpdDeps, where: SmtpListen): Promise<SmtpServer> {
  let current = { deps, settings: readSettings(deps.config, deps.processLimit, deps.openTable) };
  const remote = "path" in where ? LOCAL_CLIENT : undefined;
  const options: ListenOptions = {
    exemptFromClientLimit: (client) => isLimitException(client, current.deps, current.settings),
    refuse: (socket, reason, client) =>
      refuse(socket, reason, client, current.deps, current.settings),
    onError: (e) => current.deps.log?.(`warning: listener: ${e.message}`),
  };
  const limits = () => {
    options.maxConnections = current.settings.processLimit;
    // Local submission has one "client"; the per-client limit means nothing there.
    options.maxPerClient = remote ? 0 : current.settings.clientConnectionLimit;
  };
  limits();
  const listener = await listen(
    where,
    (socket) => {
      const { deps, settings } = current;
      return serveConnection(socket, deps, settings, remote);
    },
    options,
  );
  return {
    address: listener.address,
    update(next: SmtpdDeps) {
      current = {
        deps: next,
        settings: readSettings(next.config, next.processLimit, next.openTable),
      };
      limits();
    },
    close: (graceMs?: number) => listener.close(graceMs),
  };
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

async function serveConnection(
  socket: Socket,
  deps: SmtpdDeps,
  settings: SmtpdSettings,
  remote?: { address: string; port: number },
) {
  const conn = new Connection(socket, {
    remote,
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
