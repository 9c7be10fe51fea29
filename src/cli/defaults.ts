/** Where the commands find the configuration file when not told with -c. */

/** Default configuration file, as Postfix's /etc/postfix/main.cf. */
export const DEFAULT_CONFIG = "/etc/facteur/facteur.toml";

/** $FACTEUR_CONFIG when set (and readable by this process), else DEFAULT_CONFIG. */
export function defaultConfigFile(): string {
  try {
    return Deno.env.get("FACTEUR_CONFIG") || DEFAULT_CONFIG;
  } catch {
    return DEFAULT_CONFIG; // no --allow-env
  }
}
