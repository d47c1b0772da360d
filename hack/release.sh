#!/usr/bin/env bash
# Builds release VERSION into dist/: moat for linux/amd64, linux/arm64 and
# darwin/arm64 (version and commit stamped), SHA256SUMS, and the multi-arch
# OCI image, without Docker (hack/release/main.go says what each file is).
#   hack/release.sh v0.1.0
# SOURCE_DATE_EPOCH (default: the commit's time) dates the image; the same
# commit gives the same image digest.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -ne 1 ]; then
  echo "usage: hack/release.sh VERSION   (e.g. v0.1.0)" >&2; exit 2
fi
command -v go >/dev/null || { echo "hack/release.sh: 'go' is missing; install Go 1.26" >&2; exit 1; }
command -v git >/dev/null || { echo "hack/release.sh: 'git' is missing; apt-get install git" >&2; exit 1; }
exec go run ./hack/release -version "$1" -out dist
