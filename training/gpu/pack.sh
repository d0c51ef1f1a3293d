#!/usr/bin/env bash
# Run HERE (no GPU needed) before the GPU session: prepares the two carries that the GPU machine needs, each under
# the device tool's 64 MiB limit. The machine has no network and no node_modules, so it gets:
#   training/work/carry-a/  first part of the SmolLM2 GGUF
#   training/work/carry-b/  rest of the GGUF + its sha256, the gguf wheel (the importer's reader), an npm code corpus
# Usage: bash training/gpu/pack.sh [PATH/TO/SmolLM2-135M-Instruct.Q4_1.gguf]  (default: training/import/fetch-base.sh fetches it)
#
# RESUME=NAME bash training/gpu/pack.sh: to train on from training/checkpoints/NAME instead of the base model, three
# carries of its weight parts (copied out of git history), the npm corpus in the second:
#   training/work/carry-a/ parts 00-02, carry-b/ parts 03-05 + npm-corpus, carry-c/ parts 06-08 + weights.sha256
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=/usr/bin/python3; [ -x training/.venv/bin/python ] && PY=training/.venv/bin/python
if [ -n "${RESUME:-}" ]; then
  PARTS=training/work/resume-parts
  rm -rf "$PARTS" training/work/carry-a training/work/carry-b training/work/carry-c
  bash scripts/checkpoint-weights.sh "$RESUME" "$PARTS"
  i=0
  for part in "$PARTS"/weights.part*; do
    carry=training/work/carry-$(echo a b c | cut -d' ' -f$((i / 3 + 1)))
    mkdir -p "$carry" && mv "$part" "$carry/"
    i=$((i + 1))
  done
  [ "$i" -le 9 ] || { echo "$i parts: more than 3 carries of 3 would be needed"; exit 2; }
  mv "$PARTS/weights.sha256" training/work/carry-c/ && rm -rf "$PARTS"
  $PY training/build_corpus.py --out training/work/carry-b/npm-corpus --npm node_modules --npm /usr/lib/node_modules --no-python --max-mb 40
  du -sh training/work/carry-*; exit 0
fi
[ -n "${1:-}" ] || bash training/import/fetch-base.sh
GGUF=${1:-training/work/base-model/SmolLM2-135M-Instruct.Q4_1.gguf}
[ -f "$GGUF" ] || { echo "no GGUF at $GGUF"; exit 2; }
A=training/work/carry-a B=training/work/carry-b
rm -rf "$A" "$B" && mkdir -p "$A" "$B/wheels"
head -c 50000000 "$GGUF" > "$A/gguf.part0"
tail -c +50000001 "$GGUF" > "$B/gguf.part1"
sha256sum < "$GGUF" | cut -d' ' -f1 > "$B/gguf.sha256"
# the version training/requirements-import.txt pins; its dependencies (numpy, PyYAML, tqdm) are on the GPU machine
python3 -m pip download -q --no-deps --only-binary=:all: -d "$B/wheels" gguf==0.19.0
$PY training/build_corpus.py --out "$B/npm-corpus" --npm node_modules --npm /usr/lib/node_modules --no-python --max-mb 40
du -sh "$A" "$B"
