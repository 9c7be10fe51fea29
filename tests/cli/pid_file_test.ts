/** The pid file `facteur queue flush` uses to find the server: stale files are not trusted. */
import assert from "node:assert/strict";
import {
  pidFilePath,
  readPidFile,
  removePidFile,
  signalServer,
  writePidFile,
} from "../../src/master/pid_file.ts";

Deno.test("a pid file naming a process that is not facteur serve is ignored, and that process is not signalled", async () => {
  const dir = await Deno.makeTempDir({ prefix: "facteur-pid-" });
  // SIGUSR1's default action would kill it: it must survive.
  const other = new Deno.Command("sleep", { args: ["30"] }).spawn();
  try {
    Deno.writeTextFileSync(pidFilePath(dir), `${other.pid}\n`);
    assert.equal(signalServer(dir), undefined);
    Deno.writeTextFileSync(pidFilePath(dir), "not a pid\n");
    assert.equal(readPidFile(dir), undefined);
    assert.equal(signalServer(dir), undefined);
    Deno.writeTextFileSync(pidFilePath(dir), "999999999\n"); // no such process
    assert.equal(signalServer(dir), undefined);
  } finally {
    other.kill("SIGTERM");
    const status = await other.status;
    assert.equal(status.signal, "SIGTERM", "killed by our SIGTERM, not by a SIGUSR1");
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writePidFile records this process; removePidFile removes only its own", async () => {
  const dir = await Deno.makeTempDir({ prefix: "facteur-pid-" });
  try {
    writePidFile(dir);
    assert.equal(readPidFile(dir), Deno.pid);
    assert.equal(signalServer(dir), undefined, "never signals itself");
    removePidFile(dir);
    assert.equal(readPidFile(dir), undefined);
    Deno.writeTextFileSync(pidFilePath(dir), "12345\n"); // another server's
    removePidFile(dir);
    assert.equal(readPidFile(dir), 12345);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
