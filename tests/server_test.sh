#!/usr/bin/env bash
# Runs one of the facet serve tests; exits 77 (skipped) when what it needs
# is not installed.
# usage: server_test.sh http|openai|browser <facet binary> <model> <build dir>
#   http:    tests/server_test.py (python3, standard library only)
#   openai:  tests/server_openai_test.mjs with the openai npm package from
#            $FACET_OPENAI_CLIENT or <build dir>/openai-client
#            (tools/fetch_openai_client.sh)
#   browser: tests/server_browser_test.py (chromium, chromedriver and
#            python3-selenium); screenshots in <build dir>/server-screenshots
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
mode=$1; facet=$2; model=$3; build=$4
case "$mode" in
  http)
    exec python3 "$here/server_test.py" "$facet" "$model" ;;
  openai)
    client="${FACET_OPENAI_CLIENT:-$build/openai-client}"
    if ! command -v node >/dev/null; then
      echo "SKIP: node is not installed"; exit 77
    fi
    if [ ! -f "$client/node_modules/openai/index.mjs" ]; then
      echo "SKIP: the openai npm package is not in $client" \
           "(run tools/fetch_openai_client.sh $client)"
      exit 77
    fi
    exec node "$here/server_openai_test.mjs" "$facet" "$model" "$client" ;;
  browser)
    # Debian's python3-selenium is in the system python, which may not be
    # the first python3 on PATH.
    for py in python3 /usr/bin/python3; do
      if command -v "$py" >/dev/null && "$py" -c 'import selenium' 2>/dev/null; then
        exec "$py" "$here/server_browser_test.py" "$facet" "$model" \
          "$build/server-screenshots"
      fi
    done
    echo "SKIP: python3-selenium is not installed (tools/install_deps.sh)"
    exit 77 ;;
  *)
    echo "unknown mode $mode"; exit 2 ;;
esac
