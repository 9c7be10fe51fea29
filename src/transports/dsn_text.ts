/**
 * Postfix dsn_split(): a nexthop text "5.1.1 User unknown" is a DSN code and
 * a reason; without a leading code the default applies and the whole text is
 * the reason.
 */
export function splitDsnText(text: string, defaultDsn: string): { dsn: string; reason: string } {
  const m = /^([245]\.\d{1,3}\.\d{1,3})(?:\s+|$)(.*)$/s.exec(text.trim());
  if (!m) return { dsn: defaultDsn, reason: text.trim() };
  return { dsn: m[1], reason: m[2] };
}
