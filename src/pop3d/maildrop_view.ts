/**
 * The TRANSACTION state's view of a maildrop (RFC 1939 5): messages keep
 * their numbers for the whole session; DELE only marks, so marked messages
 * are hidden from STAT/LIST/UIDL and refused by number until RSET; nothing
 * is removed before QUIT.
 */
import { parseNumber } from "./command.ts";
import type { Pop3Message } from "./types.ts";

export interface NumberedMessage {
  /** 1-based message number. */
  number: number;
  message: Pop3Message;
}

export class MaildropView {
  readonly messages: readonly Pop3Message[];
  readonly #deleted = new Set<number>();

  constructor(messages: readonly Pop3Message[]) {
    this.messages = messages;
  }

  /** Messages not marked deleted, with their numbers. */
  visible(): NumberedMessage[] {
    const out: NumberedMessage[] = [];
    this.messages.forEach((message, i) => {
      if (!this.#deleted.has(i)) out.push({ number: i + 1, message });
    });
    return out;
  }

  /** STAT: count and octets of the messages not marked deleted (RFC 1939 5). */
  stat(): { count: number; octets: number } {
    let count = 0;
    let octets = 0;
    this.messages.forEach((m, i) => {
      if (this.#deleted.has(i)) return;
      count++;
      octets += m.size;
    });
    return { count, octets };
  }

  /** A message named by its number argument; a string is the "-ERR" text. */
  find(arg: string): NumberedMessage | string {
    const n = parseNumber(arg, "message number");
    if (typeof n === "string") return n;
    if (n < 1 || n > this.messages.length) {
      return this.messages.length === 0
        ? `There is no message ${n}: the maildrop is empty`
        : `There is no message ${n}: messages are numbered 1 to ${this.messages.length}`;
    }
    if (this.#deleted.has(n - 1)) return `Message ${n} is already deleted`;
    return { number: n, message: this.messages[n - 1] };
  }

  markDeleted(number: number): void {
    this.#deleted.add(number - 1);
  }

  /** RSET: unmarks everything. */
  reset(): void {
    this.#deleted.clear();
  }

  /** 0-based indexes to remove at QUIT, ascending. */
  deletedIndexes(): number[] {
    return [...this.#deleted].sort((a, b) => a - b);
  }
}
