#!/usr/bin/env bash
# `npm run device-kit`: packs what `npm run bench:gpu` needs on a GPU machine lent through the device tool, which has
# no Node.js and no network, into .device-kit/kit.tar.xz (~37 MB; the tool carries at most 64 MiB): this machine's
# node binary (self-contained but for glibc and libstdc++), onnxruntime-node's JavaScript and linux-x64 files, the
# benchmark bundle (dist/bench.js) and the Vulkan loader (libvulkan1: onnxruntime's WebGPU provider runs on Dawn,
# which needs libvulkan.so.1; the machine brings the NVIDIA driver). Then one device call:
#   run(command: "bash scripts/device-bench-gpu.sh", carry: [".device-kit"])
# The bundled model (111 MB) does not fit: the benchmark runs its random test model there.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
log() { printf '[device-kit] %s\n' "$*" >&2; }

npm run build --silent >/dev/null
KIT=.device-kit
STAGE="$KIT/stage"
rm -rf "$KIT" && mkdir -p "$STAGE/gl" "$STAGE/dist" "$STAGE/scripts" "$STAGE/node_modules/onnxruntime-node/bin/napi-v6/linux"
log "the Vulkan loader (Debian's libvulkan1, amd64)"
LISTS="$(mktemp -d)" && chmod 777 "$LISTS" # apt fetches as its own user
APT=(-o APT::Architecture=amd64 -o APT::Architectures=amd64 -o "Dir::State::Lists=$LISTS")
apt-get "${APT[@]}" update -qq >/dev/null
DOWNLOADS="$(mktemp -d)" && chmod 777 "$DOWNLOADS"
(cd "$DOWNLOADS" && apt-get "${APT[@]}" download libvulkan1 >/dev/null)
mv "$DOWNLOADS"/*.deb "$STAGE/gl/"
rm -rf "$LISTS" "$DOWNLOADS"
log "node $(node -v), onnxruntime-node $(node -p 'require("onnxruntime-node/package.json").version'), dist/bench.js"
cp "$(command -v node)" "$STAGE/node"
cp dist/bench.js "$STAGE/dist/"
cp -r node_modules/onnxruntime-common "$STAGE/node_modules/"
cp -r node_modules/onnxruntime-node/package.json node_modules/onnxruntime-node/dist "$STAGE/node_modules/onnxruntime-node/"
cp -r node_modules/onnxruntime-node/bin/napi-v6/linux/x64 "$STAGE/node_modules/onnxruntime-node/bin/napi-v6/linux/"
cp scripts/bench-gpu.sh "$STAGE/scripts/"
tar -C "$STAGE" -cf - . | xz -T0 -6 >"$KIT/kit.tar.xz"
rm -rf "$STAGE"
log "wrote $KIT/kit.tar.xz ($(du -h "$KIT/kit.tar.xz" | cut -f1)); on the device: bash scripts/device-bench-gpu.sh (carry .device-kit)"
