/** Tables and BENCHMARKS.md paragraphs of the pop3 and store phases. */
import type { Pop3Result } from "./pop3.ts";
import { median, ratio } from "./stats.ts";
import type { StoreResult } from "./store.ts";

const fmt = (v: number, digits: number) =>
  Number.isFinite(v)
    ? v.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : "–";

/** Session times in s and the rates they give, medians over the rounds, facteur/Dovecot. */
export function pop3Table(pop3: Pop3Result): string {
  const n = Math.max(pop3.facteur.cold.length, pop3.dovecot.cold.length);
  const rate = (ms: number) => pop3.messages / (ms / 1000);
  const rows: string[] = [];
  for (const kind of ["cold", "warm"] as const) {
    const f = median(pop3.facteur[kind]);
    const d = median(pop3.dovecot[kind]);
    const what = kind === "cold" ? "first session (cold: index built)" : "second session (warm)";
    rows.push(
      `| ${what}, connect to QUIT (s, median of ${n}) | ${fmt(f / 1000, 2)} | ${
        fmt(d / 1000, 2)
      } | ${fmt(ratio(f, d), 2)} |`,
      `| ${kind} msgs/s | ${fmt(rate(f), 0)} | ${fmt(rate(d), 0)} | ${
        fmt(ratio(rate(f), rate(d)), 2)
      } |`,
    );
  }
  return [
    "| | facteur | Dovecot | facteur/Dovecot |",
    "|---|---:|---:|---:|",
    ...rows,
  ].join("\n");
}

export function pop3RoundsLine(pop3: Pop3Result): string {
  const list = (vs: number[]) => vs.length ? vs.map((v) => fmt(v / 1000, 2)).join(", ") : "–";
  return [
    `- cold session s per round: facteur ${list(pop3.facteur.cold)}; Dovecot ${
      list(pop3.dovecot.cold)
    }.`,
    `- warm session s per round: facteur ${list(pop3.facteur.warm)}; Dovecot ${
      list(pop3.dovecot.warm)
    }.`,
  ].join("\n");
}

export function storeTable(store: StoreResult): string {
  const f = median(store.facteur);
  const p = median(store.postfix);
  const n = Math.max(store.facteur.length, store.postfix.length);
  return [
    "| | facteur (store) | Postfix (virtual) | facteur/Postfix |",
    "|---|---:|---:|---:|",
    `| delivered into the Maildir, msgs/s (${store.messages} messages, median of ${n}) | ${
      fmt(f, 0)
    } | ${fmt(p, 0)} | ${fmt(ratio(f, p), 2)} |`,
  ].join("\n");
}

export function storeRoundsLine(store: StoreResult): string {
  const list = (vs: number[]) => vs.length ? vs.map((v) => fmt(v, 0)).join(", ") : "–";
  return `- delivered msgs/s per round: facteur ${list(store.facteur)}; Postfix ${
    list(store.postfix)
  }.`;
}

export function pop3Errors(pop3: Pop3Result | undefined, store: StoreResult | undefined): string[] {
  return [
    pop3?.facteur.error && `pop3: facteur failed: ${pop3.facteur.error}`,
    pop3?.dovecot.error && `pop3: Dovecot failed: ${pop3.dovecot.error}`,
    store?.facteurError && `store: facteur failed: ${store.facteurError}`,
    store?.postfixError && `store: Postfix failed: ${store.postfixError}`,
  ].filter((line): line is string => !!line);
}

/** The --write paragraphs: what was run, how, and how to read it. */
export function pop3Descriptions(
  pop3: Pop3Result | undefined,
  store: StoreResult | undefined,
  settings: { rounds: number; sessions: number; size: number },
): string[] {
  const out: string[] = [];
  if (pop3) {
    const mib = (pop3.fileBytes / 2 ** 20).toFixed(1);
    out.push(
      `POP3: a ${pop3.messages}-message Maildir (${mib} MiB, plain-text messages of 2–20 KiB ` +
        `generated from a fixed seed, LF line ends, all in new/, names without S=/W= sizes) ` +
        `copied for each server and round, so every round starts without an index and neither ` +
        `server sees the other's; served by facteur's pop3d (virtual_mailbox_maps = ` +
        `"facteur:users", user made with \`facteur user add\`) and by Dovecot ${pop3.dovecotVersion} ` +
        `pop3 (private instance, passwd-file {PLAIN}, \`pop3_uidl_format = %f\`, otherwise ` +
        `defaults; facteur checks a memory-hard hash at each login, Dovecot a plain password). One client (scripts/bench/pop3_client.ts, no pipelining) times from connect ` +
        `to the QUIT reply: USER/PASS, LIST, UIDL, RETR of every message, each read to its ` +
        `"." and checked against its LIST size (${fmt(pop3.octets, 0)} octets in all); no DELE. ` +
        `Cold is the first session on the copy (the server builds its index), warm the second; ` +
        `${settings.rounds} rounds alternating the order, medians. facteur/Dovecot below 1 ` +
        `for the times and above 1 for msgs/s means facteur is faster.`,
    );
  }
  if (store) {
    out.push(
      `Store: \`smtp-source -s ${settings.sessions} -m ${store.messages} -l ${settings.size}\` ` +
        `to one virtual recipient; facteur looks the user up in its users store ` +
        `(virtual_mailbox_maps = "facteur:users") and delivers through the mailstore (quota ` +
        `check, Maildir file; no session holds the store open, so the index is left to catch ` +
        `up at the next login); Postfix ${store.postfixVersion} ` +
        `delivers with virtual(8) into a Maildir as in the receive phase. msgs/s from starting ` +
        `smtp-source until all ${store.messages} are in new/, ${settings.rounds} rounds ` +
        `alternating the order, medians.`,
    );
  }
  return out;
}
