/** The socket events a line-reading connection follows, attached and detached as one. */
import type { Socket } from "node:net";

export interface SocketHandlers {
  data(chunk: Uint8Array): void;
  end(): void;
  error(error: Error): void;
  close(): void;
}

/** Adds the four listeners; returns the function that removes them (e.g. before a TLS upgrade). */
export function followSocket(socket: Socket, handlers: SocketHandlers): () => void {
  const listeners = [
    ["data", (chunk: Uint8Array) => handlers.data(chunk)],
    ["end", () => handlers.end()],
    ["error", (error: Error) => handlers.error(error)],
    ["close", () => handlers.close()],
  ] as const;
  // deno-lint-ignore no-explicit-any
  for (const [event, fn] of listeners) socket.on(event, fn as (...args: any[]) => void);
  return () => {
    // deno-lint-ignore no-explicit-any
    for (const [event, fn] of listeners) socket.off(event, fn as (...args: any[]) => void);
  };
}
