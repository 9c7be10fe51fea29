/**
 * A loopback DNS server for tests: Debian's dnsmasq on 127.0.0.1 and a given
 * port, serving only the records it is given (no resolv.conf, no /etc/hosts),
 * a child of the test stopped by its PID. Gate tests on
 * requirePeer("dnsmasq", "dnsmasq-base").
 */
import { findPeer } from "../peers.ts";

export interface Dnsmasq {
  port: number;
  stop(): Promise<void>;
}

/**
 * Starts dnsmasq with `records` (dnsmasq options such as "--mx-host=…",
 * "--host-record=…", "--local=/test/"); when `readyName` is given, waits until
 * an A query for it is answered.
 */
export async function startDnsmasq(
  port: number,
  records: string[],
  readyName?: string,
): Promise<Dnsmasq> {
  const child = new Deno.Command(findPeer("dnsmasq")!, {
    args: [
      ...["--no-daemon", "--no-resolv", "--no-hosts", "--bind-interfaces"],
      ...["--listen-address=127.0.0.1", `--port=${port}`],
      ...records,
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const stop = async () => {
    try {
      Deno.kill(child.pid, "SIGTERM");
    } catch {
      // already exited
    }
    await child.status;
  };
  if (!readyName) return { port, stop };
  for (let i = 0; i < 40; i++) {
    const answered = await Deno.resolveDns(readyName, "A", {
      nameServer: { ipAddr: "127.0.0.1", port },
      signal: AbortSignal.timeout(500),
    }).then(() => true, () => false);
    if (answered) return { port, stop };
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop();
  throw new Error(`dnsmasq did not answer on 127.0.0.1:${port}`);
}
