#!/usr/bin/env bash
# Check that corepreg/ is exactly what nbdev_export writes from nbs/: the notebooks are the source.
# Exports into a scratch copy, so a hand edit in corepreg/ is reported, never overwritten.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
scratch="$(mktemp -d)"; trap 'rm -rf "$scratch"' EXIT
cp -r "$root/settings.ini" "$root/nbs" "$root/corepreg" "$scratch/"
(cd "$scratch" && "$root/.venv/bin/nbdev_export" >/dev/null)
if ! diff -r -q -x __pycache__ "$scratch/corepreg" "$root/corepreg" >/dev/null; then
  echo "ERROR: corepreg/ differs from what the notebooks in nbs/ export:" >&2
  diff -r -u -x __pycache__ "$root/corepreg" "$scratch/corepreg" | head -40 >&2 || true
  echo "corepreg/*.py is generated: edit the notebook in nbs/ instead, then run 'make export' (nbdev_export)." >&2
  exit 1
fi
echo "export check: corepreg/ matches the notebooks"
