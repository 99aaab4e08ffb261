#!/usr/bin/env bash
# Copy a study folder's results (not its checkpoints under runs/, not its lock files) from runs/NAME to results/NAME,
# so that a grid's cells can be committed as they land: tools/sync_grid.sh uwloci-comir-sup
set -euo pipefail
name=${1:?usage: tools/sync_grid.sh NAME (a study folder under runs/)}
src=runs/$name; dst=results/$name
[ -f "$src/grid.json" ] || { echo "$src is not a study folder (no grid.json)" >&2; exit 1; }
mkdir -p "$dst"
tar -C "$src" --exclude=./runs --exclude='./.corepreg*' -cf - . | tar -C "$dst" -xf -
# a grid still running wrote its report some cells ago: write it again from the files just copied (no training)
"$(dirname "$0")/../.venv/bin/corepreg" report "$dst" > /dev/null
echo "$dst: $(ls "$dst/cells" 2>/dev/null | grep -c '\.json$' || true) cells"
