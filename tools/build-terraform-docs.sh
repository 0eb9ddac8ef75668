#!/usr/bin/env bash
# Build terraform-docs from the Go module proxy into the cache (prints the binary's path on stdout).
# `go install pkg@version` asks the proxy for the module's version list, which it refuses here, so
# download the exact version, copy it somewhere writable and build inside it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tools/versions.env
. "$here/versions.env"
cache=${DDB_REPLICA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ddb-replica}
target="$cache/terraform-docs-$TERRAFORM_DOCS_VERSION/terraform-docs"
if [[ ! -x "$target" ]]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  echo "terraform-docs: building $TERRAFORM_DOCS_VERSION from the Go module proxy" >&2
  dir=$(GOFLAGS=-mod=mod go mod download -json "github.com/terraform-docs/terraform-docs@$TERRAFORM_DOCS_VERSION" |
    sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  cp -r "$dir" "$work/src" && chmod -R u+w "$work/src"
  mkdir -p "$(dirname "$target")"
  (cd "$work/src" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$target.partial" .)
  mv "$target.partial" "$target"
fi
echo "$target"
