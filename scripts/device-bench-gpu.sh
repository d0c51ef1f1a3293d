#!/usr/bin/env bash
# Runs on a GPU machine lent through the device tool (no Node.js, no network), in the repo's root there, with
# .device-kit carried (`npm run device-kit` packs it here): unpacks the kit, installs the Vulkan loader, points it at
# the NVIDIA driver and runs `bench-gpu.sh` (every execution provider, the random test model). Results: printed, and
# dist/bench-gpu-<provider>.json copied to $OUT when the tool sets it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ -f .device-kit/kit.tar.xz ] || { echo "no .device-kit/kit.tar.xz: run npm run device-kit here first and carry .device-kit" >&2; exit 1; }
KIT=/tmp/layerskip-device-kit
rm -rf "$KIT" && mkdir -p "$KIT" && tar -xJf .device-kit/kit.tar.xz -C "$KIT"
for deb in "$KIT"/gl/*.deb; do dpkg -x "$deb" /; done
ldconfig
ICD=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$ICD" ] && export VK_DRIVER_FILES="$ICD"
nvidia-smi -L 2>/dev/null || echo "nvidia-smi: no GPU listed"
export PATH="$KIT:$PATH"
bash "$KIT/scripts/bench-gpu.sh"
if [ -n "${OUT:-}" ]; then cp "$KIT"/dist/bench-gpu-*.json "$OUT"/ 2>/dev/null || true; fi
