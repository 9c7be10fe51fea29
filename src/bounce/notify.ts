/**
 * Who is told what, as Postfix's bounce(8)/qmgr(8) decide it. Pure decision
 * functions; the caller builds each planned notice with buildDsn and queues
 * it with the planned envelope sender.
 *
 * - RFC 3461 4.1 NOTIFY: NEVER means no notice; without NOTIFY Postfix acts
 *   as for FAILURE,DELAY; SUCCESS only when asked for.
 * - Nothing is ever sent to the null sender (RFC 5321 4.5.5, RFC 3461 6.2):
 *   a bounce that cannot be delivered becomes a "double bounce" to
 *   2bounce_notice_recipient, only when notify_classes has "bounce" or
 *   "2bounce" (postconf(5) notify_classes; Postfix bounce_notify_service.c),
 *   sent from double_bounce_sender so that its own failure is discarded.
 * - Mail from double_bounce_sender that fails is discarded: no triple bounce.
 * - soft_bounce turns permanent failures into temporary ones, so they produce
 *   delay warnings and never failure notices (postconf(5) soft_bounce).
 * - notify_classes "bounce" and "delay" add header-only postmaster copies,
 *   to bounce_notice_recipient and delay_notice_recipient.
 */

import type { DsnNotify, RecipientResult } from "../queue/types.ts";
import type { DsnKind } from "./types.ts";

/** Postfix's behaviour without a NOTIFY parameter (RFC 3461 4.1 leaves it to the MTA). */
export const DEFAULT_NOTIFY: readonly DsnNotify[] = ["FAILURE", "DELAY"];

const NOTIFY_FOR: Readonly<Record<DsnKind, DsnNotify>> = {
  failure: "FAILURE",
  delay: "DELAY",
  success: "SUCCESS",
};

/** True when a recipient with this NOTIFY wants a notice of this kind. */
export function wantsNotice(notify: readonly DsnNotify[] | undefined, kind: DsnKind): boolean {
  const effective = notify === undefined || notify.length === 0 ? DEFAULT_NOTIFY : notify;
  if (effective.includes("NEVER")) return false;
  return effective.includes(NOTIFY_FOR[kind]);
}

/**
 * postconf(5) soft_bounce: a permanent failure is reported as temporary,
 * 5.x.x becoming 4.x.x, and the recipient stays queued.
 */
export function applySoftBounce(result: RecipientResult, softBounce: boolean): RecipientResult {
  if (!softBounce || result.status !== "bounced") return result;
  return { ...result, status: "deferred", dsn: result.dsn.replace(/^5\./, "4.") };
}

/** The notice kind a recipient's latest outcome calls for. */
export function noticeKindFor(status: RecipientResult["status"]): DsnKind {
  if (status === "bounced") return "failure";
  if (status === "deferred") return "delay";
  return "success";
}

/** Recipients (any objects with status and notify) that belong in a notice of this kind. */
export function recipientsToReport<
  T extends { status: RecipientResult["status"]; notify?: DsnNotify[] },
>(recipients: readonly T[], kind: DsnKind): T[] {
  return recipients.filter((r) => noticeKindFor(r.status) === kind && wantsNotice(r.notify, kind));
}

/**
 * postconf(5) delay_warning_time: a delay warning is due once the message is
 * that old, at most once per message; 0 turns warnings off.
 */
export function delayWarningDue(
  arrivalTime: number,
  now: number,
  delayWarningMs: number,
  alreadyWarned: boolean,
): boolean {
  return delayWarningMs > 0 && !alreadyWarned && now - arrivalTime >= delayWarningMs;
}

export interface NotifySettings {
  /** postconf(5) myorigin: appended to the bare names below. */
  myorigin: string;
  /** postconf(5) double_bounce_sender, default "double-bounce". */
  doubleBounceSender: string;
  /** postconf(5) notify_classes, e.g. ["resource", "software"]. */
  notifyClasses: readonly string[];
  /** postconf(5) bounce_notice_recipient, default "postmaster". */
  bounceNoticeRecipient: string;
  /** postconf(5) 2bounce_notice_recipient, default "postmaster". */
  doubleBounceNoticeRecipient: string;
  /** postconf(5) delay_notice_recipient, default "postmaster". */
  delayNoticeRecipient: string;
}

/** One notice to build (buildDsn) and queue. */
export interface PlannedNotice {
  kind: DsnKind;
  /** Envelope and To: recipient of the notice. */
  to: string;
  /** Envelope sender of the notice: "" or the double-bounce address. */
  from: string;
  /** Return only the original's headers (postmaster copies). */
  headersOnly: boolean;
  /** "Postmaster Copy" subject. */
  postmasterCopy: boolean;
}

/** A bare local part gets "@myorigin" (as trivial-rewrite's append_at_myorigin). */
export function qualify(address: string, myorigin: string): string {
  return address.includes("@") ? address : `${address}@${myorigin}`;
}

function sameAddress(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/**
 * The notices to send about `originalSender`'s message for recipients whose
 * outcome calls for `kind` (after recipientsToReport left at least one).
 */
export function planNotices(
  kind: DsnKind,
  originalSender: string,
  settings: NotifySettings,
): PlannedNotice[] {
  const classes = new Set(settings.notifyClasses.map((c) => c.toLowerCase()));
  const doubleBounce = qualify(settings.doubleBounceSender, settings.myorigin);
  const postmasterNotice = (to: string, headersOnly: boolean): PlannedNotice => ({
    kind,
    to: qualify(to, settings.myorigin),
    from: doubleBounce,
    headersOnly,
    postmasterCopy: true,
  });

  // A postmaster notification failed: discard it, never a triple bounce.
  if (
    originalSender !== "" && sameAddress(qualify(originalSender, settings.myorigin), doubleBounce)
  ) {
    return [];
  }
  if (originalSender === "") {
    // A bounce failed: a double bounce with the whole message, when notify_classes asks for it.
    const wanted = kind === "failure" && (classes.has("bounce") || classes.has("2bounce"));
    return wanted ? [postmasterNotice(settings.doubleBounceNoticeRecipient, false)] : [];
  }
  const notices: PlannedNotice[] = [
    { kind, to: originalSender, from: "", headersOnly: false, postmasterCopy: false },
  ];
  if (kind === "failure" && classes.has("bounce")) {
    notices.push(postmasterNotice(settings.bounceNoticeRecipient, true));
  }
  if (kind === "delay" && classes.has("delay")) {
    notices.push(postmasterNotice(settings.delayNoticeRecipient, true));
  }
  return notices;
}
