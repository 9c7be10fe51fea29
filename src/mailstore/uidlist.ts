/**
 * Dovecot's dovecot-uidlist (doc.dovecot.org "Maildir mailbox format",
 * dovecot-uidlist): the header "3 V<uidvalidity> N<nextuid> G<guid> ..."
 * (version 1: "1 <uidvalidity> <nextuid>"), then "<uid> [fields] :<base>"
 * per message (version 1: "<uid> <base>"). Read once when the index is new,
 * so a Maildir moving from Dovecot keeps its UIDs.
 */

export interface UidList {
  uidValidity: number;
  nextUid: number;
  /** Base name (before ":") → UID. */
  uids: Map<string, number>;
}

/** Parses the file; undefined when the header is not understood. */
export function parseUidList(text: string): UidList | undefined {
  const lines = text.split("\n");
  const header = lines[0].trim().split(" ");
  let uidValidity = 0;
  let nextUid = 0;
  const version = header[0];
  if (version === "1" && header.length >= 3) {
    uidValidity = Number(header[1]);
    nextUid = Number(header[2]);
  } else if (version === "3") {
    for (const field of header.slice(1)) {
      if (field[0] === "V") uidValidity = Number(field.slice(1));
      if (field[0] === "N") nextUid = Number(field.slice(1));
    }
  } else {
    return undefined;
  }
  if (!(uidValidity > 0) || !(nextUid > 0)) return undefined;
  const uids = new Map<string, number>();
  for (const line of lines.slice(1)) {
    const m = version === "3" ? /^(\d+)(?: [^:]*)? ?:(.+)$/.exec(line) : /^(\d+) (\S+)$/.exec(line);
    if (!m) continue;
    const uid = Number(m[1]);
    const base = m[2].split(":")[0];
    if (uid > 0 && uid < nextUid) uids.set(base, uid);
  }
  return { uidValidity, nextUid, uids };
}
