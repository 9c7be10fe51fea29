/** bounce(8): delivery status notifications (RFC 3464) and who receives them. */
export { buildDsn, returnsHeadersOnly, validateDsnInput } from "./dsn.ts";
export {
  applySoftBounce,
  DEFAULT_NOTIFY,
  delayWarningDue,
  noticeKindFor,
  type NotifySettings,
  type PlannedNotice,
  planNotices,
  qualify,
  recipientsToReport,
  wantsNotice,
} from "./notify.ts";
export type { DsnAction, DsnInput, DsnKind, DsnRecipient } from "./types.ts";
