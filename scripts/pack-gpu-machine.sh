#!/usr/bin/env bash
# Packs what a GPU machine without Node or a browser needs to run the lab's engine on WebGPU under
# Node (Dawn): this machine's node binary (xz), the CLI bundled into one file, the `webgpu`
# package's Linux Dawn addon, and the Vulkan loader .deb. Output: .gpu/ (ignored by git), for
# scripts/gpu-machine.sh to use there. About 40 MB.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .gpu && mkdir -p .gpu/node_modules/webgpu
node_modules/.bin/esbuild src/cli/main.ts --bundle --platform=node --format=esm --target=node20 \
  --external:webgpu --outfile=.gpu/lab.mjs --log-level=warning \
  --banner:js="import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);"
cp node_modules/webgpu/package.json node_modules/webgpu/index.js .gpu/node_modules/webgpu/
xz -T2 -6 -c node_modules/webgpu/dist/linux-x64/dawn.node > .gpu/dawn.node.xz
xz -T2 -6 -c "$(readlink -f "$(command -v node)")" > .gpu/node.xz
(cd .gpu && apt-get download libvulkan1 >/dev/null 2>&1 || echo "note: could not download libvulkan1 (the GPU machine must have a Vulkan loader)")
du -sh .gpu
