/**
 * The notices one delivery attempt calls for (bounce(8) as qmgr(8) asks for
 * it): a failure notice for recipients that just bounced, a success notice
 * for NOTIFY=SUCCESS recipients just delivered, a delay warning once the
 * message is delay_warning_time old. No I/O but reading the original: the
 * caller supplies the time and the new queue ids, and commits the notices
 * with the attempt's results.
 */
import type { Config } from "../config/mod.ts";
import {
  buildDsn,
  delayWarningDue,
  type DsnAction,
  type DsnKind,
  type DsnRecipient,
  type NotifySettings,
  planNotices,
  recipientsToReport,
} from "../bounce/mod.ts";
import type {
  NewMessage,
  QueuedMessage,
  QueuedRecipient,
  RecipientResult,
} from "../queue/types.ts";

export interface NoticeSettings extends NotifySettings {
  myhostname: string;
  /** postconf(5) mail_name, in the notice's Received: header. */
  mailName: string;
  /** postconf(5) bounce_size_limit */
  bounceSizeLimit: number;
  /** postconf(5) delay_warning_time in ms; 0: no warnings. */
  delayWarningMs: number;
  /** maximal_queue_lifetime in ms, for Will-Retry-Until. */
  lifetimeMs: number;
}

export function noticeSettings(config: Config): NoticeSettings {
  return {
    myhostname: config.get("myhostname"),
    mailName: config.get("mail_name"),
    myorigin: config.get("myorigin"),
    doubleBounceSender: config.get("double_bounce_sender"),
    notifyClasses: config.list("notify_classes"),
    bounceNoticeRecipient: config.get("bounce_notice_recipient"),
    doubleBounceNoticeRecipient: config.get("2bounce_notice_recipient"),
    delayNoticeRecipient: config.get("delay_notice_recipient"),
    bounceSizeLimit: config.int("bounce_size_limit"),
    delayWarningMs: config.time("delay_warning_time") * 1000,
    lifetimeMs: config.time("maximal_queue_lifetime") * 1000,
  };
}

/** A notice ready for the queue, with what the log line says about it. */
export interface Notice extends NewMessage {
  kind: DsnKind;
  postmasterCopy: boolean;
}

export interface AttemptNotices {
  notices: Notice[];
  /** A delay warning was due now: remember it, so it is the only one. */
  delayWarned: boolean;
}

/** Postfix's words in "QUEUEID: sender non-delivery notification: NEWID". */
const LOG_WORDS: Readonly<Record<DsnKind, string>> = {
  failure: "non-delivery notification",
  delay: "delay notification",
  success: "delivery status notification",
};

export function noticeLogLine(queueId: string, notice: Notice): string {
  const who = notice.postmasterCopy ? "postmaster" : "sender";
  return `${queueId}: ${who} ${LOG_WORDS[notice.kind]}: ${notice.id}`;
}

/** Final delivery agents (their relay= names): they report "delivered" (RFC 3464 2.3.3). */
const FINAL_AGENTS = new Set(["local", "virtual"]);

const ACTIONS: Readonly<Record<DsnKind, DsnAction>> = {
  failure: "failed",
  delay: "delayed",
  success: "delivered",
};

/**
 * The Action of a success notice for this delivery, or undefined when we
 * send none: a final agent delivered it, or smtp/lmtp handed it to a server
 * without DSN (result.successAction: "relayed" / "delivered"). A server that
 * announced DSN got NOTIFY=SUCCESS and reports itself (RFC 3461 4.1, Postfix
 * smtp_rcpt_done).
 */
export function successAction(result: RecipientResult): DsnAction | undefined {
  if (FINAL_AGENTS.has(result.relay ?? "")) return "delivered";
  return result.successAction;
}

/**
 * The server's reply for Diagnostic-Code type smtp: "host[addr] said: 550 ..."
 * for failures; the end-of-data reply itself ("250 2.0.0 Ok") for a relayed
 * success, as Postfix's smtp_rcpt_done.
 */
function remoteReply(result: RecipientResult): string | undefined {
  if (result.status === "sent") {
    return result.successAction !== undefined && /^2\d\d[ -]/.test(result.reason)
      ? result.reason
      : undefined;
  }
  return /\bsaid: ([2-5]\d\d[ -].*)$/s.exec(result.reason)?.[1];
}

/**
 * Everything this attempt must tell: `results` are the final ones (after
 * expiry and soft_bounce); `newId` gives each notice its queue id.
 */
export async function attemptNotices(
  message: QueuedMessage,
  results: readonly RecipientResult[],
  original: () => Promise<Uint8Array>,
  settings: NoticeSettings,
  now: number,
  newId: () => string,
): Promise<AttemptNotices> {
  // (Envelope & {recipients: QueuedRecipient[]}) intersects the array types; name the real one.
  const queued: QueuedRecipient[] = message.envelope.recipients;
  const byIndex = new Map(queued.map((r) => [r.index, r]));
  const reported = results.map((result) => ({
    ...byIndex.get(result.index)!,
    status: result.status,
    result,
  }));
  const warnDue = results.some((r) => r.status === "deferred") &&
    delayWarningDue(
      message.envelope.arrivalTime,
      now,
      settings.delayWarningMs,
      message.delayWarned === true,
    );
  const kinds: DsnKind[] = warnDue ? ["failure", "success", "delay"] : ["failure", "success"];
  const notices: Notice[] = [];
  for (const kind of kinds) {
    const rcpts = recipientsToReport(reported, kind)
      .filter((r) => kind !== "success" || successAction(r.result) !== undefined);
    if (rcpts.length === 0) continue;
    const dsnRecipients: DsnRecipient[] = rcpts.map(({ address, orcpt, result }) => ({
      address,
      orcpt,
      action: kind === "success" ? successAction(result)! : ACTIONS[kind],
      status: result.dsn,
      reason: result.reason,
      remoteReply: remoteReply(result),
      relay: result.relay,
      lastAttempt: now,
      willRetryUntil: message.envelope.arrivalTime + settings.lifetimeMs,
    }));
    for (const plan of planNotices(kind, message.envelope.sender, settings)) {
      const id = newId();
      const content = buildDsn({
        kind,
        myhostname: settings.myhostname,
        mailName: settings.mailName,
        queueId: message.id,
        sender: message.envelope.sender,
        to: plan.to,
        ret: message.envelope.ret,
        envid: message.envelope.envid,
        arrivalTime: message.envelope.arrivalTime,
        smtputf8: message.envelope.smtputf8,
        recipients: dsnRecipients,
        original: await original(),
        bounceSizeLimit: settings.bounceSizeLimit,
        headersOnly: plan.headersOnly,
        postmasterCopy: plan.postmasterCopy,
        noticeId: id,
        now: new Date(now),
      });
      notices.push({
        id,
        kind,
        postmasterCopy: plan.postmasterCopy,
        envelope: {
          sender: plan.from,
          recipients: [{ address: plan.to }],
          arrivalTime: now,
          // RFC 6531: a UTF-8 address needs SMTPUTF8 on the way back too.
          ...(message.envelope.smtputf8 ? { smtputf8: true } : {}),
        },
        content,
      });
    }
  }
  return { notices, delayWarned: warnDue };
}
