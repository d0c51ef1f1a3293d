#!/usr/bin/env bash
# `npm run bench:peer-1b [-- bench:peer flags]`: the peer benchmark (server/bench/peer.ts) on a random checkpoint of
# Llama 3.2 1B's shape (16 layers, hidden 2048, intermediate 8192, GQA 32/8, 128,256-token vocabulary, tied: the
# smallest facebook/layerskip checkpoint's shape), where the weights are ten times the bundled model's and the head
# 2.6x larger, so the head and the per-call costs weigh differently.
#
# Both sides run the same weights, made the way the bundled model is: training/import/random_gguf.py writes a random
# GGUF (Q4_1 linears, Q8_0 embedding) for llama.cpp; gguf_to_hf.py imports it and this project's converter stores it
# as an int4 package (exact, as for the bundled model). Before timing, llama.cpp's greedy tokens on a prompt are
# checked against the engine's. The package (~1 GB) and the GGUF (~1 GB) stay in training/work/llama-1b-shape for
# `npm run bench -- --model training/work/llama-1b-shape/package`; the float32 import (5 GB) is removed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
log() { printf '[bench-peer-1b] %s\n' "$*" >&2; }

WORK=training/work/llama-1b-shape
GGUF="$WORK/random.Q4_1.gguf"
PACKAGE="$WORK/package"
PY=training/.venv-import/bin/python

# the Python venv with gguf, and the bundled model's GGUF, whose tokenizer the random model borrows
bash training/import/fetch-base.sh
npm run build --silent >/dev/null
npm --prefix training/verify install --omit=optional --no-audit --no-fund --silent

# rebuilt when its inputs change: the generator, the importer, the converter
stamp() { cat training/import/random_gguf.py training/import/gguf_to_hf.py $(find server/model -name '*.ts' | sort) | sha256sum; }
if [ ! -f "$PACKAGE/manifest.json" ] || [ ! -f "$GGUF" ] || [ "$(cat "$WORK/.stamp" 2>/dev/null)" != "$(stamp)" ]; then
  rm -rf "$WORK" && mkdir -p "$WORK"
  log "writing a random Llama-3.2-1B-shaped GGUF"
  "$PY" training/import/random_gguf.py --template training/work/base-model/SmolLM2-135M-Instruct.Q4_1.gguf \
    --out "$GGUF.tmp" --layers 16 --hidden 2048 --intermediate 8192 --heads 32 --kv-heads 8 --vocab 128256
  log "importing it (float32) and converting it to an int4 package"
  "$PY" training/import/gguf_to_hf.py --gguf "$GGUF.tmp" --out "$WORK/hf" --source-name "random Llama-3.2-1B shape"
  node dist/cli.js convert "$WORK/hf" "$PACKAGE.tmp" --dtype int4 --embedding-dtype int8 --exit-layer 4 --draft 2
  rm -rf "$WORK/hf"
  mv "$GGUF.tmp" "$GGUF"
  mv "$PACKAGE.tmp" "$PACKAGE"
  stamp >"$WORK/.stamp"
fi

# the oracle: llama.cpp's greedy continuation of a prompt, token for token, from the engine on the package
PROMPT='function fibonacci(n) {'
CHECK="$WORK/check"
mkdir -p "$CHECK"
printf '{"tokenize":{"prompt":%s}}' "$(node -e 'console.log(JSON.stringify(process.argv[1]))' "$PROMPT")" >"$CHECK/tokenize.json"
node training/verify/llamacpp.mjs "$GGUF" "$CHECK/tokenize.json" "$CHECK/tokenized" 2>/dev/null
IDS="$(node -e 'console.log(JSON.stringify(require(process.argv[1]).tokenize.prompt))' "$ROOT/$CHECK/tokenized/result.json")"
printf '{"greedy":[{"name":"prompt","tokens":%s,"steps":8}]}' "$IDS" >"$CHECK/greedy.json"
node training/verify/llamacpp.mjs "$GGUF" "$CHECK/greedy.json" "$CHECK/greedy" 2>/dev/null
EXPECTED="$(node -e 'console.log(require(process.argv[1]).greedy.prompt.tokens.join(","))' "$ROOT/$CHECK/greedy/result.json")"
GOT="$(node dist/cli.js generate --model "$PACKAGE" --prompt "$PROMPT" --mode full --temperature 0 --max-tokens 8 --json |
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).tokens.join(",")))')"
if [ "$GOT" != "$EXPECTED" ]; then
  log "greedy tokens differ: llama.cpp $EXPECTED, engine $GOT (margins: $(cat "$CHECK/greedy/result.json"))"
  exit 1
fi
log "greedy tokens agree with llama.cpp: $GOT"

node dist/benchPeer.js --model "$PACKAGE" --gguf "$GGUF" --out dist/bench-peer-1b.json "$@"
