/**
 * Interoperability tests run programs nobody here wrote (postmap, swaks,
 * dovecot, ...). When one is missing:
 * - on CI (the CI environment variable is set) a test named after the peer
 *   fails, naming the Debian package to install;
 * - elsewhere the dependent tests are skipped with a line saying how to install it.
 *
 *   Deno.test({ name: "...", ...requirePeer("postmap", "postfix"), fn: ... });
 */

const EXTRA_DIRS = ["/usr/sbin", "/sbin", "/usr/local/sbin"];

/** Absolute path of an executable found in $PATH or the sbin directories, or undefined. */
export function findPeer(binary: string): string | undefined {
  const dirs = [...(Deno.env.get("PATH") ?? "").split(":").filter(Boolean), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const path = `${dir}/${binary}`;
    try {
      const info = Deno.statSync(path);
      if (info.isFile && (info.mode ?? 0o111) & 0o111) return path;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

const reported = new Set<string>();

export function requirePeer(binary: string, debianPackage: string): { ignore: boolean } {
  if (findPeer(binary)) return { ignore: false };
  const hint = `${binary} not found: install the Debian package(s) "${debianPackage}" ` +
    `(apt-get install ${debianPackage})`;
  if (!reported.has(binary)) {
    reported.add(binary);
    if (Deno.env.get("CI")) {
      Deno.test(`interop peer ${binary} is installed`, () => {
        throw new Error(hint);
      });
    } else {
      console.log(`skipping tests that need ${hint}`);
    }
  }
  return { ignore: true };
}
