# shellcheck shell=bash
# Sourced by .ci/run: Debian's Chromium for the HTML report tests (tests/report/test_html.py).
#
# Installs the distribution's `chromium` package when no chromium is on PATH (running
# `apt-get update` only then) and exports CUSTODY_TEST_CHROMIUM, so the browser tests fail
# instead of skipping when the browser is missing. A CUSTODY_TEST_CHROMIUM that is already set is
# used as it is.

custody_chromium() {
  if [ -n "${CUSTODY_TEST_CHROMIUM:-}" ]; then
    echo "chromium: using CUSTODY_TEST_CHROMIUM from the environment"
    return 0
  fi
  if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ]; then
      echo "chromium: not found; install Debian's chromium package or set CUSTODY_TEST_CHROMIUM" >&2
      return 1
    fi
    echo "chromium: installing the distribution's chromium package"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends chromium >/dev/null
  fi
  CUSTODY_TEST_CHROMIUM=$(command -v chromium)
  export CUSTODY_TEST_CHROMIUM
  echo "chromium: $("$CUSTODY_TEST_CHROMIUM" --version 2>/dev/null | head -n 1), CUSTODY_TEST_CHROMIUM=$CUSTODY_TEST_CHROMIUM"
}

custody_chromium
