#!/usr/bin/env bash
# Copies the weight parts of training/checkpoints/NAME out of git history into DIR (weights.partNN + weights.sha256).
# They live in the commit named by NAME/weights.commit, merged into main's history but not its tree
# (training/checkpoints/README.md). A shallow clone fetches its history first.
#   bash scripts/checkpoint-weights.sh NAME DIR   (npm run setup-model and training/gpu/pack.sh use it)
set -euo pipefail
cd "$(dirname "$0")/.."
NAME=${1:?usage: checkpoint-weights.sh NAME DIR}
DIR=${2:?usage: checkpoint-weights.sh NAME DIR}
COMMIT="$(cat "training/checkpoints/$NAME/weights.commit")"
has_weights() { git cat-file -e "$COMMIT^{commit}" 2>/dev/null; }
if ! has_weights && [ "$(git rev-parse --is-shallow-repository 2>/dev/null)" = true ]; then
  echo "[checkpoint-weights] shallow clone: fetching the history that holds the weights (git fetch --unshallow)" >&2
  git fetch --quiet --unshallow || true
fi
has_weights || {
  echo "[checkpoint-weights] ERROR: commit $COMMIT (the weights of $NAME) is not in this clone: a shallow clone or a source archive lacks it; run 'git fetch --unshallow' or clone the repository in full" >&2
  exit 1
}
mkdir -p "$DIR"
git ls-tree --name-only -r "$COMMIT" | while read -r path; do
  git cat-file blob "$COMMIT:$path" >"$DIR/$(basename "$path")"
done
