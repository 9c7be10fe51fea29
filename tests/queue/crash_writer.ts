/**
 * Child process for crash_test.ts: enqueues forever with several concurrent
 * writers and prints each id on stdout only after its enqueue resolved
 * (= the moment smtpd would answer 250). The parent SIGKILLs it mid-stream.
 * Usage: deno run --allow-read=DIR --allow-write=DIR crash_writer.ts DIR [main|worker]
 */
import { newQueueId } from "../../src/queue/mod.ts";
import { contentFor, openTestQueue, type QueueThread, sampleEnvelope, sizeFor } from "./helpers.ts";

const dir = Deno.args[0];
const queue = await openTestQueue((Deno.args[1] ?? "main") as QueueThread, dir);
const out = Deno.stdout;
const encoder = new TextEncoder();

async function writer(): Promise<never> {
  while (true) {
    const id = newQueueId();
    await queue.enqueue(
      id,
      sampleEnvelope({ arrivalTime: Date.now() }),
      contentFor(id, sizeFor(id)),
    );
    out.writeSync(encoder.encode(id + "\n"));
  }
}

await Promise.all(Array.from({ length: 8 }, writer));
