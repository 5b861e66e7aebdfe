#!/usr/bin/env bash
# make demo: import a Rails app's Heroku export into local stores (file: and tfvars:),
# with no cloud and no credentials, then show that a second plan is empty.
set -euo pipefail
bin=$(realpath "${1:-bin/envsync}")
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/envsync-demo.XXXXXX")
cp "$here/envsync.yaml" "$here/heroku-config.json" "$work/"
mkdir -p "$work/infra" && cp "$here/app_env.auto.tfvars" "$work/infra/"
cd "$work"
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

step envsync classify --from heroku-config.json
"$bin" classify --from heroku-config.json

step envsync plan
set +e; "$bin" plan; code=$?; set -e
[ "$code" -eq 2 ] || { echo "demo: expected exit 2 (changes) from the first plan, got $code" >&2; exit 1; }

step envsync import --yes
"$bin" import --yes

step cat out/feature.env
cat out/feature.env
step cat infra/app_env.auto.tfvars
cat infra/app_env.auto.tfvars
step ls -l out
ls -l out

step "envsync plan   # a second plan is empty: exit 0"
"$bin" plan
step "envsync import --yes   # and a second import writes nothing"
"$bin" import --yes
if grep -rqF "$(sed -n 's/.*"STRIPE_SECRET_KEY": "\(.*\)".*/\1/p' heroku-config.json)" out/feature.env infra/; then
  echo "demo: a secret leaked into a plain-text store" >&2; exit 1
fi
echo
echo "demo: done; the stores are in $work"
