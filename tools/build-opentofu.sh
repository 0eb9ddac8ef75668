#!/usr/bin/env bash
# Build OpenTofu from the Go module proxy (used only when no terraform >= 1.6 is on PATH).
# Its go.mod has a `replace` (hashicorp/hcl/v2 -> opentofu/hcl/v2), so `go install pkg@version` is
# refused; download the module, copy it somewhere writable and build inside it instead.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tools/versions.env
. "$here/versions.env"
cache=${DDB_REPLICA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ddb-replica}
target="$cache/opentofu-$OPENTOFU_VERSION/tofu"
[[ -x "$target" ]] && { echo "opentofu: cached $target"; exit 0; }
command -v go >/dev/null || { echo "error: building OpenTofu needs Go (>= 1.25), and there is no go on PATH; install Go." >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "opentofu: downloading github.com/opentofu/opentofu@$OPENTOFU_VERSION"
dir=$(GOFLAGS=-mod=mod go mod download -json "github.com/opentofu/opentofu@$OPENTOFU_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
cp -r "$dir" "$work/src" && chmod -R u+w "$work/src"
cd "$work/src"
echo "opentofu: compiling (a few minutes)"
mkdir -p "$(dirname "$target")"
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$target.partial" ./cmd/tofu
mv "$target.partial" "$target"
echo "opentofu: built $target"
