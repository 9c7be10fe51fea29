/**
 * pickup(8): local submission. `facteur sendmail` speaks SMTP to a
 * unix-domain socket in the data directory (Postfix's public/pickup), so a
 * cron job or a PHP script can send mail without the network port being
 * open to it. As with Postfix's sendmail, local users are trusted: no relay
 * or recipient restrictions apply here (unknown local recipients bounce at
 * delivery, as mail from pickup does); size and header limits still do.
 */
import { join } from "node:path";
import type { SmtpdPolicy } from "../smtpd/mod.ts";

/** $data_directory/public/pickup: world-writable, like Postfix's public/ sockets. */
export function pickupSocketPath(dataDir: string): string {
  return join(dataDir, "public", "pickup");
}

export const PICKUP_SOCKET_MODE = 0o666;

/** Creates public/ (mode 0755: anyone may reach the socket). */
export async function preparePickupDirectory(dataDir: string): Promise<void> {
  const dir = join(dataDir, "public");
  await Deno.mkdir(dir, { recursive: true });
  await Deno.chmod(dir, 0o755);
}

const accept = () => Promise.resolve(undefined);

/** Local submission accepts what the sendmail user asks (postdrop has no restrictions). */
export const PICKUP_POLICY: SmtpdPolicy = {
  onConnect: accept,
  onHelo: accept,
  onMail: accept,
  onRcpt: accept,
  onData: accept,
  onEndOfData: accept,
};
