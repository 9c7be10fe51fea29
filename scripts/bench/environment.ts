/** What the numbers were measured on: machine, versions, time. For the report. */
import { VERSION } from "../../src/version.ts";
import { REPO } from "./facteur.ts";

export interface Environment {
  /** `date -u` output. */
  date: string;
  cpus: number;
  cpuModel: string;
  memoryBytes: number;
  kernel: string;
  /** 1, 5 and 15 minute load averages when the run started: other work on the machine skews results. */
  loadAverage: number[];
  /** File system of the temporary directories (where both servers fsync): tmpfs would make fsync free. */
  tempFilesystem: string;
  deno: string;
  facteur: string;
  /** Short commit, with "+changes" when the work tree differs from it. */
  git: string;
}

async function run(cmd: string, args: string[], cwd?: string): Promise<string> {
  try {
    const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "null" })
      .output();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : "";
  } catch {
    return "";
  }
}

/** From lscpu(1): Deno reads /proc/cpuinfo only with --allow-all. */
async function cpuModel(): Promise<string> {
  const text = await run("lscpu", []);
  return text.match(/^Model name:\s*(.+)$/m)?.[1].trim() ?? "unknown CPU";
}

async function tempFilesystem(): Promise<string> {
  const lines = (await run("df", ["--output=fstype,source", Deno.env.get("TMPDIR") ?? "/tmp"]))
    .split("\n");
  return lines[1]?.trim().split(/\s+/).join(" on ") || "unknown";
}

export async function collectEnvironment(): Promise<Environment> {
  const commit = await run("git", ["rev-parse", "--short", "HEAD"], REPO);
  const dirty = await run("git", ["status", "--porcelain", "--untracked-files=no"], REPO);
  return {
    date: await run("date", ["-u"]) || new Date().toUTCString(),
    cpus: Number(await run("nproc", [])) || navigator.hardwareConcurrency,
    cpuModel: await cpuModel(),
    memoryBytes: Deno.systemMemoryInfo().total,
    kernel: Deno.osRelease(),
    loadAverage: Deno.loadavg(),
    tempFilesystem: await tempFilesystem(),
    deno: Deno.version.deno,
    facteur: VERSION,
    git: commit ? commit + (dirty ? "+changes" : "") : "unknown",
  };
}
