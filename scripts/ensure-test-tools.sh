#!/usr/bin/env bash
# Install the Debian packages the test suite uses beyond Python (`make test` runs this).
# Idempotent and silent when everything is there; without root or apt it says what is
# missing and exits 0, and the tests that need a tool skip with a message naming it.
#
#   prometheus   the server and promtool: tests/observability runs the charts' dashboards
#                and alerts against a real Prometheus and `promtool check|test rules`
#   chromium     Debian's browser at /usr/bin/chromium: tests/browser drives it with
#                Playwright (the project never downloads a browser: no `playwright install`)
set -u
PACKAGES=(prometheus)
[ -x /usr/bin/chromium ] || PACKAGES+=(chromium)

missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "[test-tools] not installed (needs root and apt-get): ${missing[*]}; the tests that use them skip"
  exit 0
fi
echo "[test-tools] installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Packages with a daemon (prometheus) must not start it: the tests start their own, on a
# free port. Debian's policy-rc.d hook says so, for this install only when it is absent.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
# The package lists may be missing or stale on a fresh machine: update once, then install.
if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
  apt-get update -qq >/dev/null 2>&1 || true
  if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
    echo "[test-tools] could not install ${missing[*]}; the tests that use them skip"
  fi
fi
exit 0
