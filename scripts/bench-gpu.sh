#!/usr/bin/env bash
# `npm run bench:gpu`: one command for a machine with a GPU. Decodes the benchmark prompts with the bundled model on
# every execution provider this onnxruntime-node can start (cpu, webgpu, cuda; a provider that cannot start falls back
# to cpu and is reported as such) and prints tokens/s side by side. Needs `npm ci && npm run build` done beforehand and
# runs the bundled model (`npm run setup-model`), or its random test model where the model folder is missing (as on a
# lent GPU machine: scripts/device-bench-gpu.sh); writes dist/bench-gpu-<provider>.json.
# CUDA needs onnxruntime-node's CUDA binaries: ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
MODEL="${1:-media/models/default}"
MODEL_ARGS=(--model "$MODEL")
if [ ! -f "$MODEL/manifest.json" ]; then
  echo "no package in $MODEL: the benchmark's random test model"
  MODEL_ARGS=()
fi
THREADS="$(node -p 'Math.min(8, require("node:os").availableParallelism())')"
for provider in cpu webgpu cuda; do
  echo "== $provider"
  node dist/bench.js "${MODEL_ARGS[@]}" --provider "$provider" --threads "$THREADS" --max-tokens 32 --draft-sweep 2,4 \
    --out "dist/bench-gpu-$provider.json" 2>&1 | grep -E '^(model|device|\| (full|self|early))|fall|unavailable' || echo "$provider: failed"
done
