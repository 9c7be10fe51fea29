/** Fixtures for the cleanup tests: a queue that records what it is given. */
import type {
  Envelope,
  ListOptions,
  QueuedMessage,
  QueueName,
  QueueStore,
  RecipientResult,
} from "../../src/queue/mod.ts";
import type { CleanupDeps, CleanupRequest, CleanupSettings } from "../../src/cleanup/mod.ts";

export interface Enqueued {
  id: string;
  envelope: Envelope;
  content: Uint8Array;
}

/** Records enqueues; `failWith` makes enqueue reject instead. Other methods are not used by cleanup. */
export class RecordingQueue implements QueueStore {
  enqueued: Enqueued[] = [];
  failWith?: Error;

  enqueue(id: string, envelope: Envelope, content: Uint8Array): Promise<void> {
    if (this.failWith) return Promise.reject(this.failWith);
    this.enqueued.push({ id, envelope, content: content.slice() });
    return Promise.resolve();
  }
  claimDue(_now: number, _limit: number): Promise<QueuedMessage[]> {
    throw new Error("not used");
  }
  content(_id: string): Promise<Uint8Array> {
    throw new Error("not used");
  }
  recordAttempt(_id: string, _r: RecipientResult[], _n: number): Promise<void> {
    throw new Error("not used");
  }
  hold(_id: string): Promise<boolean> {
    throw new Error("not used");
  }
  release(_id: string): Promise<boolean> {
    throw new Error("not used");
  }
  remove(_id: string): Promise<boolean> {
    throw new Error("not used");
  }
  requeue(_id: string): Promise<boolean> {
    throw new Error("not used");
  }
  requeueDomain(_domain: string): Promise<number> {
    throw new Error("not used");
  }
  markCorrupt(_id: string): Promise<boolean> {
    throw new Error("not used");
  }
  get(_id: string): Promise<QueuedMessage | undefined> {
    throw new Error("not used");
  }
  list(_o?: ListOptions): Promise<QueuedMessage[]> {
    throw new Error("not used");
  }
  counts(): Promise<Record<QueueName, number>> {
    throw new Error("not used");
  }
  recoverActive(): Promise<number> {
    throw new Error("not used");
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

export const SETTINGS: CleanupSettings = {
  myhostname: "mx.example.org",
  myorigin: "example.org",
  mail_name: "facteur",
  hopcount_limit: 50,
  header_size_limit: 102400,
};

/** 2026-11-23 09:05:07 UTC */
export const ARRIVAL = Date.UTC(2026, 10, 23, 9, 5, 7);
export const ARRIVAL_DATE = "Mon, 23 Nov 2026 09:05:07 +0000";

export function deps(queue: RecordingQueue, overrides: Partial<CleanupDeps> = {}): CleanupDeps {
  return {
    config: SETTINGS,
    queue,
    now: () => new Date(Date.UTC(2026, 10, 23, 9, 5, 8)),
    newQueueId: () => "4F2A9C1B3D",
    utcOffsetMinutes: 0,
    ...overrides,
  };
}

export function request(
  content: string | Uint8Array,
  overrides: Partial<CleanupRequest> = {},
  recipients = ["bob@example.net"],
): CleanupRequest {
  return {
    envelope: {
      sender: "alice@example.com",
      recipients: recipients.map((address) => ({ address })),
      arrivalTime: ARRIVAL,
    },
    content: typeof content === "string" ? new TextEncoder().encode(content) : content,
    client: { address: "127.0.0.1", hostname: "localhost", helo: "client.example.com" },
    protocol: "ESMTP",
    ...overrides,
  };
}

export function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** Latin-1 view: one character per byte, so tests can compare any bytes as text. */
export function latin1(data: Uint8Array): string {
  return new TextDecoder("latin1").decode(data);
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
