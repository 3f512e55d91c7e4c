#!/usr/bin/env bash
# Checks of the deployment files that run without a Docker engine or systemd as PID 1:
# hadolint on the Dockerfile, systemd-analyze verify on the unit (when it is installed).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}

"$BIN/hadolint" deploy/Dockerfile
echo "hadolint: deploy/Dockerfile ok"

if command -v systemd-analyze >/dev/null 2>&1; then
    # The unit names /opt/wirebrief/bin/wirebrief, which exists only once installed.
    out=$(systemd-analyze verify deploy/wirebrief.service 2>&1 | grep -v "is not executable: No such file" || true)
    if [ -n "$out" ]; then
        echo "$out"
        exit 1
    fi
    echo "systemd-analyze: deploy/wirebrief.service ok"
else
    echo "systemd-analyze not installed: unit file not checked"
fi
