#!/usr/bin/env bash
# The work of the custody GitHub Action (action.yml): install custody into its own venv, run
# `custody audit` or `custody scan` with a SARIF report, and record the exit code as a step
# output, so that the report is uploaded before the job fails on findings.
#
# Inputs come as environment variables (never pasted into this script by the runner):
#   CUSTODY_COMMAND     audit | scan
#   CUSTODY_TARGETS     whitespace-separated targets (may be empty)
#   CUSTODY_ARGS        whitespace-separated extra options (may be empty)
#   CUSTODY_ADVISORIES  audit: whitespace-separated `custody db update --from` sources (empty: OSV)
#   CUSTODY_PACKAGE     pip requirement for custody (empty: the action's own source)
#   CUSTODY_SARIF       the report's path
# and the runner's GITHUB_ACTION_PATH, RUNNER_TEMP and GITHUB_OUTPUT.
set -euo pipefail

die() { echo "custody action: $*" >&2; exit 2; }

command="${CUSTODY_COMMAND:-audit}"
case "$command" in
  audit|scan) ;;
  *) die "command must be audit or scan, not '$command'" ;;
esac
sarif="${CUSTODY_SARIF:-custody.sarif}"
: "${GITHUB_OUTPUT:?not set: this script is meant to run as the custody action}"
: "${RUNNER_TEMP:?not set: this script is meant to run as the custody action}"

# custody in a venv of its own: the job's Python environment stays as the workflow left it (and
# is what a target-less audit or scan looks at).
venv="$RUNNER_TEMP/custody-venv"
if [ ! -x "$venv/bin/custody" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${CUSTODY_PACKAGE:-$GITHUB_ACTION_PATH}"
custody="$venv/bin/custody"

# Word splitting is wanted here: targets and options are whitespace-separated lists.
read -r -a targets <<< "${CUSTODY_TARGETS:-}"
read -r -a extra <<< "${CUSTODY_ARGS:-}"
# Without targets: the runner's Python environment (not custody's own venv), plus for audit the
# lock files in the working directory.
default_targets=()
runner_python="$(command -v python3)"
if [ "$command" = audit ]; then
  read -r -a sources <<< "${CUSTODY_ADVISORIES:-}"
  update=(db update)
  for source in "${sources[@]}"; do update+=(--from "$source"); done
  "$custody" "${update[@]}" || die "custody db update failed: no advisories to audit against"
  if [ "${#targets[@]}" -eq 0 ]; then default_targets=(--python "$runner_python"); fi
elif [ "${#targets[@]}" -eq 0 ]; then
  default_targets=("$("$runner_python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')")
fi

set +e
"$custody" "$command" "${default_targets[@]}" "${targets[@]}" "${extra[@]}" --format sarif -o "$sarif"
code=$?
set -e
echo "exit-code=$code" >> "$GITHUB_OUTPUT"
if [ ! -s "$sarif" ]; then
  echo "custody $command wrote no report (exit $code)" >&2
  exit "$code"
fi
echo "sarif-file=$sarif" >> "$GITHUB_OUTPUT"
# The results in the job log too, for a reader without code scanning.
"$venv/bin/python" - "$sarif" <<'PY'
import json, sys

runs = json.load(open(sys.argv[1], encoding="utf-8"))["runs"]
results = [r for run in runs for r in run.get("results", [])]
for r in results:
    where = r.get("locations", [{}])[0].get("physicalLocation", {}).get("artifactLocation", {}).get("uri", "")
    print(f"{r.get('level', 'warning')}: {r.get('ruleId', '?')}: {r['message']['text']} {where}".rstrip())
print(f"custody: {len(results)} result(s) in {sys.argv[1]}")
PY
