// facteur's defaults are Postfix's: compared with `postconf -x` of the real
// Postfix (Debian package postfix), at compatibility_level 3.6.
import assert from "node:assert/strict";
import { PARAMETERS, parseConfig } from "../../src/config/mod.ts";
import { requirePeer } from "../peers.ts";

/** Where facteur deliberately differs from Postfix, and why. */
const DIFFERENT: Record<string, string> = {
  mail_name: "facteur names itself in banners and Received headers",
  mail_version: "facteur's own version",
  myhostname: "computed from the host name on both sides; compared separately",
  mydomain: "derived from myhostname",
  mynetworks: "Postfix lists the host's interface networks; facteur trusts loopback only",
  smtpd_banner: "names facteur (mail_name)",
  smtpd_client_connection_limit_exceptions:
    "Postfix 3.7 renamed it smtpd_client_event_limit_exceptions; same default, $mynetworks",
  smtpd_per_record_deadline: 'Postfix: ${stress?{yes}:{no}}, i.e. "no" unless under stress',
  alias_maps: "Postfix adds nis:mail.aliases; facteur has no NIS",
  alias_database: "same file, no NIS",
  local_recipient_maps: "same meaning; Postfix wraps unix:passwd.byname in proxy:",
  smtpd_forbid_bare_newline: "Postfix 3.7 accepts bare LF (smuggling risk); facteur rejects it",
  data_directory: "facteur's state lives in its own directory",
  local_home_base: "facteur parameter",
  dns_nameservers: "facteur parameter (Postfix reads resolv.conf)",
  dns_query_timeout: "facteur parameter (Postfix reads resolv.conf)",
  compatibility_level: "facteur follows the 3.6 defaults",
  admin_tokens: "facteur parameter (admin API)",
  admin_token_file: "facteur parameter (admin API)",
  admin_auth_failure_limit: "facteur parameter (admin API)",
  admin_auth_failure_window: "facteur parameter (admin API)",
  admin_body_size_limit: "facteur parameter (admin API)",
  master_stop_timeout: "facteur parameter (graceful stop)",
  pop3d_banner: "facteur parameter (pop3d)",
  users_mailbox_path: "facteur parameter (users store)",
  users_password_rehash: "facteur parameter (users store)",
  pop3d_timeout: "facteur parameter (pop3d)",
  pop3d_line_length_limit: "facteur parameter (pop3d)",
  pop3d_auth_failure_limit: "facteur parameter (pop3d)",
  pop3d_hard_error_limit: "facteur parameter (pop3d)",
  pop3d_user_session_limit: "facteur parameter (pop3d)",
  pop3d_client_connection_count_limit: "facteur parameter (pop3d)",
  pop3d_disable_plaintext_auth: "facteur parameter (pop3d)",
};

const peer = requirePeer("postconf", "postfix");

Deno.test({
  name: "defaults equal what postconf -x prints for an empty main.cf (compatibility_level 3.6)",
  ignore: peer.ignore,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(
        `${dir}/main.cf`,
        "compatibility_level = 3.6\nmynetworks = 127.0.0.0/8 [::1]/128\n",
      );
      await Deno.writeTextFile(`${dir}/master.cf`, "");
      const names = Object.keys(PARAMETERS).filter((n) => !(n in DIFFERENT));
      const out = await new Deno.Command("postconf", {
        args: ["-c", dir, "-h", "-x", ...names],
        stderr: "piped",
      }).output();
      const postfix = new TextDecoder().decode(out.stdout).split("\n");
      const missing = new TextDecoder().decode(out.stderr).match(/unknown parameter: (\S+)/g) ?? [];
      assert.deepEqual(missing, [], "every facteur parameter outside DIFFERENT exists in Postfix");
      // Same host identity on both sides, so $myhostname-derived values compare.
      const host = postfixValue(dir, "myhostname");
      const facteur = parseConfig(`myhostname = "${await host}"`);
      const mismatches = names
        .map((n, i) => [n, facteur.get(n), postfix[i].trim()])
        .filter(([, ours, theirs]) => normalize(ours) !== normalize(theirs));
      assert.deepEqual(mismatches, []);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

async function postfixValue(dir: string, name: string): Promise<string> {
  const out = await new Deno.Command("postconf", { args: ["-c", dir, "-d", "-h", name] }).output();
  return new TextDecoder().decode(out.stdout).trim();
}

/** Lists compare by element: "a, b" equals "a,b" equals "a b". */
function normalize(v: string): string {
  return v.split(/[\s,]+/).filter(Boolean).join(" ");
}
