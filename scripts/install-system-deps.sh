#!/usr/bin/env bash
# Install the Debian packages the test-suite uses for real, only when missing:
#   chromium            - the headless browser for the web-app and report tests (never downloaded by Playwright)
#   postgresql          - a real local server for the app's PostgreSQL run
#   util-linux          - unshare, for the no-network demo test
#   libpango-1.0-0 ...  - WeasyPrint's text layout, for `riskcohort report --pdf`
#   openjdk-17-jre-headless - the JVM for `--engine spark` (pyspark runs Spark in a local JVM)
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || need+=(postgresql)
command -v unshare >/dev/null 2>&1 || need+=(util-linux)
ldconfig -p 2>/dev/null | grep -q libpango-1.0 || need+=(libpango-1.0-0 libpangoft2-1.0-0)
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jre-headless)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "missing system packages: ${need[*]} (run as root or install them: apt-get install ${need[*]})" >&2
  exit 1
fi
echo "installing system packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
