/** doveadm pw as a reference implementation of Dovecot's password schemes. */
import { findPeer } from "../peers.ts";

/** Dovecot's hash of `password` in `scheme` ("{SCHEME}..."). */
export async function doveadmHash(scheme: string, password: string): Promise<string> {
  const out = await new Deno.Command(findPeer("doveadm") ?? "doveadm", {
    args: ["pw", "-s", scheme, "-p", password],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  // Dovecot 2.3 generates {SCRAM-SHA-256} correctly but its own reverse check fails; keep the hash.
  if (!text.startsWith("{")) {
    throw new Error(`doveadm pw -s ${scheme}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return text.split("Fatal:")[0].trim();
}

/** True when Dovecot accepts `password` for the stored `hash`. */
export async function doveadmVerifies(hash: string, password: string): Promise<boolean> {
  const out = await new Deno.Command(findPeer("doveadm") ?? "doveadm", {
    args: ["pw", "-t", hash, "-p", password],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return out.success;
}
