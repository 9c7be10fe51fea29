/**
 * Everything the benchmark starts or creates registers how to undo it here;
 * the undo steps run (newest first) at the end, on failure, and on Ctrl-C or
 * SIGTERM, so no server, smtp-source or temporary directory is left behind.
 */

type Undo = () => Promise<void> | void;

export class Cleanup {
  #steps: { label: string; undo: Undo }[] = [];
  #running: Promise<void> | null = null;
  #signals: { signal: Deno.Signal; handler: () => void }[] = [];
  /** Set when a signal asked to stop: the work in progress should end quietly. */
  interrupted = false;

  /** Ends the work in progress once a signal asked to stop (the signal handler exits). */
  throwIfInterrupted(): void {
    if (this.interrupted) throw new Error("interrupted");
  }

  /** Registers an undo step; the returned function runs it now (once) and unregisters it. */
  add(label: string, undo: Undo): () => Promise<void> {
    const step = { label, undo };
    this.#steps.push(step);
    return async () => {
      const i = this.#steps.indexOf(step);
      if (i < 0) return;
      this.#steps.splice(i, 1);
      await undo();
    };
  }

  /** Runs every remaining step, newest first; a failing step is reported, the others still run. */
  run(): Promise<void> {
    return this.#running ??= (async () => {
      while (this.#steps.length) {
        const { label, undo } = this.#steps.pop()!;
        try {
          await undo();
        } catch (e) {
          console.error(`cleanup: ${label}: ${(e as Error).message}`);
        }
      }
      for (const { signal, handler } of this.#signals) Deno.removeSignalListener(signal, handler);
      this.#signals = [];
    })();
  }

  /** On SIGINT/SIGTERM: clean up, then exit 130/143. */
  onSignals(): void {
    for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
      const handler = () => {
        this.interrupted = true;
        console.error(`\n${signal}: stopping servers and removing temporary files...`);
        this.run().finally(() => Deno.exit(code));
      };
      Deno.addSignalListener(signal, handler);
      this.#signals.push({ signal, handler });
    }
  }
}
