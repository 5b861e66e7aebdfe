#!/usr/bin/env bash
# make demo: import a Rails app's Heroku export into local stores (file: and tfvars:),
# with no cloud and no credentials, then show that a second plan is empty.
# KEEP=1 keeps the scratch folder; NO_COLOR (or output that is not a terminal) drops the bold.
set -euo pipefail
bin=$(realpath "${1:-bin/envsync}")
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/envsync-demo.XXXXXX")
if [ -n "${KEEP:-}" ]; then
  trap 'echo "demo: the stores are in $work"' EXIT
else
  trap 'rm -rf "$work"' EXIT
fi
cp "$here/envsync.yaml" "$here/heroku-config.json" "$work/"
mkdir -p "$work/infra" && cp "$here/app_env.auto.tfvars" "$work/infra/"
cd "$work"
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
  step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
else
  step() { printf '\n$ %s\n' "$*"; }
fi

step envsync classify --from heroku-config.json
"$bin" classify --from heroku-config.json

step "envsync plan --detailed-exitcode   # exit 2: changes to apply"
set +e; "$bin" plan --detailed-exitcode; code=$?; set -e
[ "$code" -eq 2 ] || { echo "demo: expected exit 2 (changes) from the first plan, got $code" >&2; exit 1; }

step envsync import --yes
"$bin" import --yes

step cat out/feature.env
cat out/feature.env
step cat infra/app_env.auto.tfvars
cat infra/app_env.auto.tfvars
step ls -l out
ls -l out

step "envsync plan --detailed-exitcode   # a second plan is empty: exit 0"
"$bin" plan --detailed-exitcode
step "envsync import --yes   # and a second import writes nothing"
"$bin" import --yes
if grep -rqF "$(sed -n 's/.*"STRIPE_SECRET_KEY": "\(.*\)".*/\1/p' heroku-config.json)" out/feature.env infra/; then
  echo "demo: a secret leaked into a plain-text store" >&2; exit 1
fi
echo
echo "demo: done (KEEP=1 make demo keeps the scratch folder)"
