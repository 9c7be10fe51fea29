/**
 * Where facteur's CPU time went, from a V8 .cpuprofile (written by
 * `deno run --cpu-prof` when the process exits): self time per function, and
 * time per facteur function including the runtime and library code it calls
 * (each sample charged to its nearest caller under src/), which shows, e.g.,
 * how much of the main thread a synchronous SQLite COMMIT takes.
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface HotSpot {
  name: string;
  ms: number;
  /** Of the busy (non-idle) time. */
  share: number;
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  /** Self time per function. */
  functions: HotSpot[];
  /** Time per facteur function (src/), including what it calls outside src/. */
  facteur: HotSpot[];
}

const frameName = (f: ProfileNode["callFrame"]) => {
  const url = shortUrl(f.url);
  return `${f.functionName || "(anonymous)"}${url ? ` ${url}:${f.lineNumber + 1}` : ""}`;
};

export function summarizeProfile(profile: CpuProfile, top = 15): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<string, number>();
  const facteur = new Map<string, number>();
  let total = 0;
  let idle = 0;
  profile.samples.forEach((id, i) => {
    // timeDeltas[i] is the time (µs) before sample i: charged to that sample's node.
    const us = profile.timeDeltas[i] ?? 0;
    const node = byId.get(id);
    if (!node) return;
    total += us;
    if (node.callFrame.functionName === "(idle)") {
      idle += us;
      return;
    }
    const name = frameName(node.callFrame);
    self.set(name, (self.get(name) ?? 0) + us);
    let owner: ProfileNode | undefined = node;
    while (owner && !owner.callFrame.url.includes("/src/")) owner = byId.get(parent.get(owner.id)!);
    const ownerName = owner ? frameName(owner.callFrame) : "(outside src/)";
    facteur.set(ownerName, (facteur.get(ownerName) ?? 0) + us);
  });
  const busy = total - idle;
  const rank = (m: Map<string, number>) =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, top).map(([name, us]) => ({
      name,
      ms: us / 1000,
      share: busy ? us / busy : 0,
    }));
  return {
    totalMs: total / 1000,
    idleMs: idle / 1000,
    functions: rank(self),
    facteur: rank(facteur),
  };
}

function shortUrl(url: string): string {
  const src = url.indexOf("/src/");
  if (src >= 0) return url.slice(src + 1);
  const npm = url.lastIndexOf("/node_modules/");
  return npm >= 0 ? "npm:" + url.slice(npm + "/node_modules/".length) : url;
}

/** Reads every .cpuprofile in `dir` and renders its summary as text. */
export async function describeProfiles(dir: string): Promise<string> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (!e.name.endsWith(".cpuprofile")) continue;
    const path = `${dir}/${e.name}`;
    const s = summarizeProfile(JSON.parse(await Deno.readTextFile(path)));
    const row = (h: HotSpot) =>
      `  ${(h.share * 100).toFixed(1).padStart(5)}%  ${h.ms.toFixed(0).padStart(7)} ms  ${h.name}`;
    out.push(
      `CPU profile ${path}: ${(s.totalMs / 1000).toFixed(1)} s, ` +
        `${((s.totalMs - s.idleMs) / 1000).toFixed(1)} s busy (shares below are of busy time)`,
      "self time by function:",
      ...s.functions.map(row),
      "time by facteur function (src/), including the runtime/library code it calls:",
      ...s.facteur.map(row),
    );
  }
  return out.length ? out.join("\n") : `no .cpuprofile in ${dir} (did facteur exit cleanly?)`;
}
