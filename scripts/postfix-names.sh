#!/usr/bin/env bash
# Regenerates src/config/postfix_names.ts from the installed Postfix (`postconf -d`).
set -euo pipefail
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
touch "$dir/main.cf" "$dir/master.cf"
out="$(dirname "$0")/../src/config/postfix_names.ts"
{
  echo '// All main.cf parameter names known to Postfix 3.7 (`postconf -d`), used to tell an'
  echo '// administrator "this is a real Postfix parameter that facteur does not implement yet"'
  echo '// rather than "unknown parameter". Regenerate: scripts/postfix-names.sh'
  echo 'export const POSTFIX_PARAMETER_NAMES: ReadonlySet<string> = new Set(`'
  postconf -c "$dir" -d | sed 's/ =.*//' | tr '\n' ' ' | fold -s -w 96 | sed 's/ *$//'
  echo
  echo '`.split(/\s+/).filter(Boolean));'
} >"$out"
