#!/usr/bin/env bash
# Run HERE (no GPU needed) before the GPU session: prepares the two carries that the GPU machine needs, each under
# the device tool's 64 MiB limit. The machine has no network and no node_modules, so it gets:
#   training/work/carry-a/  first part of the SmolLM2 GGUF
#   training/work/carry-b/  rest of the GGUF + its sha256, the gguf wheel (the importer's reader), an npm code corpus
# Usage: bash training/gpu/pack.sh [PATH/TO/SmolLM2-135M-Instruct.Q4_1.gguf]  (default: training/import/fetch-base.sh fetches it)
set -euo pipefail
cd "$(dirname "$0")/../.."
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
PY=/usr/bin/python3; [ -x training/.venv/bin/python ] && PY=training/.venv/bin/python
$PY training/build_corpus.py --out "$B/npm-corpus" --npm node_modules --npm /usr/lib/node_modules --no-python --max-mb 40
du -sh "$A" "$B"
