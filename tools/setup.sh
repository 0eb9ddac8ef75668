#!/usr/bin/env bash
# make setup: what the tests, e2e and bench need, idempotent and fast when cached. Two tiers (SETUP_TIER):
#  e2e (make e2e, make localstack-up): only what the main job uses
#   1. .venv (Python 3.12, the Lambda runtime we target) with pinned dev dependencies
#   2. one Terraform CLI: terraform or tofu >= 1.6 from PATH, else OpenTofu built from the Go module proxy
#   3. hashicorp/aws: from the registry when it answers, else built from source into a filesystem mirror
#      (OFFLINE=1 / OFFLINE=0 decide instead of the probe)
#   4. LocalStack venv (Python 3.13) with localstack-core and our extension
#   5. Lambda runtime venvs (python3.12, python3.13) with boto3, for the subprocess executor
#  full (make setup, make test, make lint, make bench; the default): the e2e tier, and
#   2b. OpenTofu for the compatibility tests (built from the Go module proxy)
#   6. checkov (own venv) and terraform-docs (from the Go module proxy) for `make lint` / `make docs`
# Go's output goes to build/setup-go.log, pip's to build/setup-pip.log; each step prints one line.
# Caches live outside the repo in ${XDG_CACHE_HOME:-~/.cache}/ddb-replica (override: DDB_REPLICA_CACHE).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
# shellcheck source=tools/versions.env
. "$here/versions.env"
cache=${DDB_REPLICA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ddb-replica}
mkdir -p "$cache" "$root/build"
tier=${SETUP_TIER:-full}
if [[ "$tier" != "e2e" && "$tier" != "full" ]]; then
  echo "error: SETUP_TIER=$tier; use e2e (what make e2e needs) or full (make test, the default)." >&2
  exit 2
fi
setup_env_file=${SETUP_ENV_FILE:-$root/build/setup.env}
export PIP_DISABLE_PIP_VERSION_CHECK=1
go_log="$root/build/setup-go.log"

# A step that builds with Go: its output goes to the Go log; on failure its last lines and the log are shown.
quiet_go() {
  if ! "$@" 2>>"$go_log"; then
    echo >&2
    tail -30 "$go_log" >&2
    echo "error: '$*' failed (full log: $go_log)." >&2
    return 1
  fi
}
need_go() {  # need_go <what needs it> <tier> <the other way>
  command -v go >/dev/null 2>&1 && return 0
  echo  # ends the step's line
  echo "error: $1 needs Go (>= 1.25), and there is no go on PATH ($2). Install Go, or $3." >&2
  exit 1
}

step_start=0
now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
step() { step_start=$(now_ms); printf 'setup: %-24s ' "$1"; }
done_step() { local ms=$(($(now_ms) - step_start)); printf '%s (%d.%01d s)\n' "$1" $((ms / 1000)) $((ms % 1000 / 100)); }

find_python() {  # find_python 3.12 -> path of a python3.12 interpreter
  local version=$1 candidate
  for candidate in "python$version" "$(pyenv root 2>/dev/null)/versions/$version"*/bin/"python$version"; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import venv, ensurepip' 2>/dev/null; then
      command -v "$candidate"
      return 0
    fi
  done
  echo "error: Python $version not found (needed for $2)." >&2
  echo "fix: install it (e.g. 'pyenv install $version' or 'apt-get install python$version-venv') and re-run make setup." >&2
  return 1
}

stamp_of() { cat "$@" | sha256sum | cut -c1-16; }

# pip is chatty (setuptools warnings on editable installs): keep its output in a log, show it on failure.
pip_log="$root/build/setup-pip.log"
quiet_pip() {
  if ! "$@" >>"$pip_log" 2>&1; then
    echo >&2
    tail -30 "$pip_log" >&2
    echo "error: '$*' failed (full log: $pip_log); check that the package index is reachable." >&2
    return 1
  fi
}

# 1. project venv ---------------------------------------------------------------------------------
step "project venv (.venv)"
want=$(echo "$PYTHON_VERSION" | stamp_of - "$root/pyproject.toml" "$root/requirements-dev.lock")
if [[ -x "$root/.venv/bin/python" && "$(cat "$root/.venv/.stamp" 2>/dev/null)" == "$want" ]]; then
  done_step "cached"
else
  python=$(find_python "$PYTHON_VERSION" "the project venv")
  [[ -x "$root/.venv/bin/python" ]] || "$python" -m venv "$root/.venv"
  quiet_pip "$root/.venv/bin/pip" install --upgrade pip
  quiet_pip "$root/.venv/bin/pip" install -c "$root/requirements-dev.lock" -e "$root[dev]"
  echo "$want" >"$root/.venv/.stamp"
  done_step "installed"
fi

# 2. Terraform CLI ---------------------------------------------------------------------------------
step "terraform CLI"
tf=""
for cli in terraform tofu; do  # the first of them on PATH that is >= 1.6 (both print terraform_version)
  command -v "$cli" >/dev/null 2>&1 || continue
  version=$("$cli" version -json 2>/dev/null | "$root/.venv/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["terraform_version"])' || true)
  if [[ -n "$version" ]] && "$root/.venv/bin/python" -c "import sys; v=tuple(map(int,'$version'.split('-')[0].split('.'))); sys.exit(v < (1,6))"; then
    tf=$(command -v "$cli")
    label="$cli $version (from PATH)"
    break
  fi
done
if [[ -z "$tf" ]]; then
  tf="$cache/opentofu-$OPENTOFU_VERSION/tofu"
  if [[ ! -x "$tf" ]]; then
    need_go "Building OpenTofu (no terraform or tofu >= 1.6 on PATH)" "every tier" "put terraform >= 1.6 or tofu >= 1.6 on PATH"
    quiet_go "$here/build-opentofu.sh" >>"$go_log"
  fi
  label="OpenTofu $OPENTOFU_VERSION (built from source: no terraform or tofu >= 1.6 on PATH)"
fi
setup_env="TF=$tf
TF_CMD=$tf
"
done_step "$label"

# 2b. OpenTofu, for the compatibility tests (tests/terraform: each CLI-parametrized test runs it) -------
tofu="$cache/opentofu-$OPENTOFU_VERSION/tofu"
if [[ "$tier" == "full" ]]; then
  step "OpenTofu CLI"
  if [[ -x "$tofu" ]]; then
    done_step "cached ($tofu)"
  else
    need_go "Building OpenTofu for the compatibility tests" "make test / make lint tier" "run only make e2e (it does not need OpenTofu)"
    quiet_go "$here/build-opentofu.sh" >>"$go_log"
    done_step "built $tofu"
  fi
fi
# The e2e tier keeps what the full tier built (a later `make test` or direct pytest run reads it).
[[ -x "$tofu" ]] && setup_env+="TOFU=$tofu
"

# 3. hashicorp/aws provider mirror ------------------------------------------------------------------
step "hashicorp/aws provider"
registry=https://registry.terraform.io/.well-known/terraform.json
if [[ -n "${OFFLINE:-}" ]]; then
  why="OFFLINE=$OFFLINE given"
elif "$here/build-provider.sh" --cached >/dev/null 2>&1; then
  OFFLINE=1 why="the mirror is built already"
# timeout 4: urllib's own timeout leaves out the DNS lookup and applies to each address it tries.
elif timeout 4 "$root/.venv/bin/python" -c "import urllib.request as u; u.urlopen('$registry', timeout=3)" 2>/dev/null; then
  OFFLINE=0 why="the Terraform registry answers"
else
  OFFLINE=1 why="the Terraform registry does not answer within 4 s"
fi
if [[ "$OFFLINE" == "0" ]]; then
  done_step "from the registry ($why)"
else
  mirror_config="$cache/terraformrc"
  if ! "$here/build-provider.sh" --cached >/dev/null 2>&1; then
    need_go "Building hashicorp/aws from source ($why)" "every tier" "run where the Terraform registry is reachable (or OFFLINE=0)"
    printf '(%s: building from source, ~35 min; progress in %s) ' "$why" "$go_log"
  fi
  out=$(quiet_go "$here/build-provider.sh")
  setup_env+="TF_CLI_CONFIG_FILE=$mirror_config
"
  done_step "${out#provider: } ($why)"
fi

# 4. LocalStack venv ---------------------------------------------------------------------------------
step "LocalStack venv"
ls_venv="$cache/localstack-$LOCALSTACK_CORE_VERSION"
want=$(echo "$LOCALSTACK_CORE_VERSION $LOCALSTACK_PYTHON_VERSION" | stamp_of -)
if [[ -x "$ls_venv/bin/python" && "$(cat "$ls_venv/.stamp" 2>/dev/null)" == "$want" ]]; then
  state="cached"
else
  python=$(find_python "$LOCALSTACK_PYTHON_VERSION" "LocalStack (localstack-core $LOCALSTACK_CORE_VERSION uses 3.13 stdlib APIs)")
  rm -rf "$ls_venv"
  "$python" -m venv "$ls_venv"
  quiet_pip "$ls_venv/bin/pip" install --upgrade pip
  # Pins: localstack-core 2026.3.0 breaks with cbor2 6, pyOpenSSL 26 and cryptography 47.
  quiet_pip "$ls_venv/bin/pip" install "localstack-core[runtime]==$LOCALSTACK_CORE_VERSION" \
    "cbor2<6" "pyopenssl<26" "cryptography<47" service_identity
  echo "$want" >"$ls_venv/.stamp"
  rm -f "$ls_venv/.ext-stamp"
  state="installed"
fi
# The extension is copied in (not editable: the cache must not point into one checkout), and
# reinstalled whenever its sources change.
ext_want=$(stamp_of "$here/localstack_ext/pyproject.toml" "$here"/localstack_ext/ddb_replica_localstack/*.py)
if [[ "$(cat "$ls_venv/.ext-stamp" 2>/dev/null)" != "$ext_want" ]]; then
  rm -rf "$here/localstack_ext/build"
  quiet_pip "$ls_venv/bin/pip" install --force-reinstall --no-deps "$here/localstack_ext"
  rm -rf "$here/localstack_ext/build" "$here"/localstack_ext/*.egg-info
  echo "$ext_want" >"$ls_venv/.ext-stamp"
  state="$state, extension updated"
fi
done_step "$state ($ls_venv)"

# 5. Lambda runtime venvs -----------------------------------------------------------------------------
step "Lambda runtimes"
runtimes="$cache/lambda-runtimes"
made=()
for version in $LAMBDA_PYTHON_RUNTIMES; do
  venv="$runtimes/python$version"
  if [[ -x "$venv/bin/python" && "$(cat "$venv/.stamp" 2>/dev/null)" == "$LAMBDA_RUNTIME_BOTO3_VERSION" ]]; then
    continue
  fi
  python=$(find_python "$version" "the python$version Lambda runtime")
  rm -rf "$venv"
  "$python" -m venv "$venv"
  quiet_pip "$venv/bin/pip" install "boto3==$LAMBDA_RUNTIME_BOTO3_VERSION"
  echo "$LAMBDA_RUNTIME_BOTO3_VERSION" >"$venv/.stamp"
  made+=("python$version")
done
done_step "${made[*]:-cached} (boto3 $LAMBDA_RUNTIME_BOTO3_VERSION in $runtimes)"

# 6. checkov and terraform-docs -------------------------------------------------------------------------
checkov_venv="$cache/checkov-$CHECKOV_VERSION"
terraform_docs="$cache/terraform-docs-$TERRAFORM_DOCS_VERSION/terraform-docs"
if [[ "$tier" == "full" ]]; then
  step "checkov, terraform-docs"
  if [[ ! -x "$checkov_venv/bin/checkov" ]]; then
    python=$(find_python "$PYTHON_VERSION" "checkov")
    rm -rf "$checkov_venv"
    "$python" -m venv "$checkov_venv"
    quiet_pip "$checkov_venv/bin/pip" install "checkov==$CHECKOV_VERSION"
  fi
  if [[ ! -x "$terraform_docs" ]]; then
    need_go "Building terraform-docs (make lint / make docs)" "make test / make lint tier" "run only make e2e (it does not need terraform-docs)"
  fi
  terraform_docs=$(quiet_go "$here/build-terraform-docs.sh")
  done_step "checkov $CHECKOV_VERSION, terraform-docs $TERRAFORM_DOCS_VERSION"
fi
[[ -x "$checkov_venv/bin/checkov" ]] && setup_env+="CHECKOV=$checkov_venv/bin/checkov
"
[[ -x "$terraform_docs" ]] && setup_env+="TERRAFORM_DOCS=$terraform_docs
"

# What the Makefile, tools/e2e.py and the tests read: the CLI, the provider mirror config, the linters.
mkdir -p "$(dirname "$setup_env_file")"
printf '%s' "$setup_env" >"$setup_env_file.partial"
mv "$setup_env_file.partial" "$setup_env_file"
