/**
 * SmtpSettings from main.cf parameters: smtp_* for smtp(8), lmtp_* for
 * lmtp(8) (postconf(5); LMTP says "lhlo" where SMTP says "helo").
 */
import { parseTime } from "../../config/values.ts";
import type { SmtpSettings } from "./client.ts";

/** `get` returns a parameter's expanded value (Config.get); values were validated at load. */
export function smtpSettings(get: (name: string) => string, lmtp = false): SmtpSettings {
  const p = lmtp ? "lmtp" : "smtp";
  const hello = lmtp ? "lhlo" : "helo";
  const ms = (name: string) => (parseTime(get(`${p}_${name}`)) ?? 0) * 1000;
  return {
    heloName: get(`${p}_${hello}_name`),
    tlsSecurityLevel: get(`${p}_tls_security_level`),
    timeouts: {
      connect: ms("connect_timeout"),
      helo: ms(`${hello}_timeout`),
      mail: ms("mail_timeout"),
      rcpt: ms("rcpt_timeout"),
      dataInit: ms("data_init_timeout"),
      dataXfer: ms("data_xfer_timeout"),
      dataDone: ms("data_done_timeout"),
      quit: ms("quit_timeout"),
    },
  };
}
