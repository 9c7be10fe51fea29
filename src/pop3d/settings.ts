/**
 * The pop3d settings with their defaults, checked once when the service
 * starts so a bad value is a startup error (ConfigError), not a failed session.
 */
import { ConfigError } from "../errors.ts";
import { parseClientAddress } from "../maps/ip.ts";

/** What plaintextAllowed() is asked about. */
export interface ClientSecurity {
  /** The client's IP address, normalised ("127.0.0.1", "::1"). */
  address: string;
  /** The connection is protected by TLS (STLS or a TLS port, later). */
  tls: boolean;
}

export interface Pop3dSettings {
  /** Text after "+OK " in the greeting. */
  greeting: string;
  /** RFC 1939 3: the autologout timer, at least 10 minutes; ms. */
  timeoutMs: number;
  /**
   * Longest command line in octets, without CRLF. RFC 2449 4 requires at
   * least 255 octets including CRLF; AUTH continuation lines use it too.
   */
  lineLengthLimit: number;
  /** Failed USER/PASS or AUTH attempts in one session before it is closed. */
  authFailureLimit: number;
  /** Bad commands (unknown, wrong state, bad argument) in one session before it is closed. */
  errorLimit: number;
  /** Concurrent logged-in sessions per account; 0 = no limit. */
  userSessionLimit: number;
  /** Concurrent connections per client address; 0 = no limit (listen()). */
  clientConnectionLimit: number;
  /** Concurrent connections of the service (master.cf maxproc); 0 = no limit. */
  processLimit: number;
  /**
   * May this client send a password in the clear (USER/PASS, AUTH PLAIN)?
   * Default: over TLS or from a loopback address only (Dovecot's
   * disable_plaintext_auth = yes, which also trusts loopback).
   */
  plaintextAllowed(client: ClientSecurity): boolean;
}

export const DEFAULT_POP3D_SETTINGS: Readonly<Pop3dSettings> = Object.freeze({
  greeting: "facteur ready.",
  timeoutMs: 600_000,
  lineLengthLimit: 512,
  authFailureLimit: 3,
  errorLimit: 20,
  userSessionLimit: 10,
  clientConnectionLimit: 10,
  processLimit: 100,
  plaintextAllowed: (client: ClientSecurity) => client.tls || isLoopback(client.address),
});

/** 127.0.0.0/8, ::1 and their IPv4-mapped forms. */
export function isLoopback(address: string): boolean {
  const ip = parseClientAddress(address);
  if (!ip) return false;
  if (ip.family === 4) return ip.bytes[0] === 127;
  return ip.bytes.every((b, i) => b === (i === 15 ? 1 : 0));
}

/** The defaults with `given` applied; throws ConfigError on a value that cannot work. */
export function pop3dSettings(given: Partial<Pop3dSettings> = {}): Pop3dSettings {
  const s: Pop3dSettings = { ...DEFAULT_POP3D_SETTINGS, ...given };
  const whole = (name: keyof Pop3dSettings, value: number, min: number) => {
    if (!Number.isSafeInteger(value) || value < min) {
      throw new ConfigError(`pop3d setting ${name}: ${value} is not an integer >= ${min}`);
    }
  };
  whole("timeoutMs", s.timeoutMs, 0);
  // RFC 2449 4: commands up to 255 octets including CRLF.
  whole("lineLengthLimit", s.lineLengthLimit, 253);
  whole("authFailureLimit", s.authFailureLimit, 1);
  whole("errorLimit", s.errorLimit, 1);
  whole("userSessionLimit", s.userSessionLimit, 0);
  whole("clientConnectionLimit", s.clientConnectionLimit, 0);
  whole("processLimit", s.processLimit, 0);
  if (/[\r\n]/.test(s.greeting)) throw new ConfigError("pop3d setting greeting: line break");
  return s;
}
