/** Text placed in one line of a notice: no control characters, within RFC 5322 2.1.1's 998 octets. */

import { printable } from "../cleanup/address_text.ts";

/** Longest value written on one line, leaving room for the field name. */
export const MAX_VALUE_LENGTH = 900;

/** `text` with control characters shown as "?" and clipped to `max` characters ("..." marks a cut). */
export function oneLine(text: string, max = MAX_VALUE_LENGTH): string {
  const clean = printable(text);
  return clean.length <= max ? clean : clean.slice(0, max - 3) + "...";
}
