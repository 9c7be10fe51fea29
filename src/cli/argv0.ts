/**
 * The names the binary answers to, as Postfix's sendmail does: installed as
 * (or linked to by) /usr/sbin/sendmail, /usr/bin/mailq or newaliases, it
 * behaves as that command. The name is argv[0], which Deno gives as
 * node:process argv0 (Deno.execPath() resolves symlinks, so it names the
 * real file, never the link).
 */
import { basename } from "node:path";

/** The facteur arguments for a process started as `argv0` with `args`; unchanged for other names. */
export function personalityArgs(argv0: string, args: string[]): string[] {
  switch (basename(argv0)) {
    case "sendmail":
      return ["sendmail", ...args];
    case "mailq":
      return ["mailq", ...args];
    case "newaliases":
      return ["sendmail", "-bi", ...args];
  }
  return args;
}
