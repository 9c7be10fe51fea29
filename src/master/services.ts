/**
 * The listening services of one configuration, keyed by what they are
 * (command, name, configured endpoint) so that a reload keeps a listener
 * whose key did not change — its socket stays open and its open sessions
 * go on — starts the new ones and closes the ones that went away.
 */
import type { Endpoint } from "./listen.ts";

export interface ServiceHandle {
  name: string;
  command: string;
  /** The bound address (real port when 0 was asked for). */
  address: Endpoint;
  /** Points new connections at the reloaded configuration. */
  update?(): void;
  close(graceMs?: number): Promise<void>;
}

/** One listener a configuration asks for: `start` opens it (rejecting when it cannot listen). */
export interface ServicePlan {
  key: string;
  name: string;
  command: string;
  start(): Promise<ServiceHandle>;
  /** For a listener kept across a reload: switch it to this plan's configuration. */
  update(handle: ServiceHandle): void;
}

export class ServiceSet {
  readonly #running = new Map<string, ServiceHandle>();

  get handles(): ServiceHandle[] {
    return [...this.#running.values()];
  }

  /**
   * Makes the running set match `plans`: new listeners first (if one cannot
   * listen, those just opened are closed again and nothing else changed),
   * then kept ones switched over, then the others closed within `graceMs`.
   * Resolves with the handles opened.
   */
  async apply(plans: ServicePlan[], graceMs: number): Promise<ServiceHandle[]> {
    const wanted = new Map(plans.map((p) => [p.key, p]));
    const opened: [string, ServiceHandle][] = [];
    try {
      for (const plan of plans) {
        if (this.#running.has(plan.key)) continue;
        opened.push([plan.key, await plan.start()]);
      }
    } catch (e) {
      await Promise.all(opened.map(([, h]) => h.close(0)));
      throw e;
    }
    for (const [key, handle] of this.#running) {
      const plan = wanted.get(key);
      if (plan) plan.update(handle);
    }
    const gone = [...this.#running].filter(([key]) => !wanted.has(key));
    for (const [key] of gone) this.#running.delete(key);
    for (const [key, handle] of opened) this.#running.set(key, handle);
    await Promise.all(gone.map(([, handle]) => handle.close(graceMs)));
    return opened.map(([, h]) => h);
  }

  /** Stops every listener; sessions get `graceMs` to finish. */
  async closeAll(graceMs: number): Promise<void> {
    const all = [...this.#running.values()];
    this.#running.clear();
    await Promise.all(all.map((h) => h.close(graceMs)));
  }
}
