/**
 * Logical lines of a Postfix table source file, exactly as readlline(3) reads
 * them (postmap(1) "INPUT FILE FORMAT", regexp_table(5), cidr_table(5),
 * aliases(5)):
 *
 * - empty lines, whitespace-only lines and lines whose first non-whitespace
 *   character is `#` are ignored (also between a line and its continuation);
 * - a logical line starts with non-whitespace text; a line that starts with
 *   whitespace continues it. The newline is dropped, the continuation keeps its
 *   leading whitespace ("a\n  b" reads as "a  b").
 */

export interface LogicalLine {
  text: string;
  /** 1-based number of the physical line the logical line starts on. */
  line: number;
  /** True when the text is a continuation with nothing to continue (Postfix warns and skips it). */
  orphan: boolean;
}

/** C isspace(): what Postfix's ISSPACE() treats as white space. */
export function isSpace(ch: string | undefined): boolean {
  return ch === " " || ch === "\t" || ch === "\n" || ch === "\r" || ch === "\v" || ch === "\f";
}

/** Trim C white space (not Unicode spaces such as U+00A0) from both ends, like trimblanks(). */
export function trimSpace(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isSpace(text[start])) start++;
  while (end > start && isSpace(text[end - 1])) end--;
  return text.slice(start, end);
}

export function logicalLines(source: string): LogicalLine[] {
  const result: LogicalLine[] = [];
  let current: LogicalLine | undefined;
  source.split("\n").forEach((raw, index) => {
    const trimmed = trimSpace(raw);
    if (trimmed === "" || trimmed.startsWith("#")) return;
    if (isSpace(raw[0]) && current) {
      current.text += raw;
      return;
    }
    current = { text: raw, line: index + 1, orphan: isSpace(raw[0]) };
    result.push(current);
  });
  return result;
}
