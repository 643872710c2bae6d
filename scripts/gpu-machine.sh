#!/usr/bin/env bash
# Runs on a GPU machine with no browser (and perhaps no Node), from the repository root, after
# scripts/pack-gpu-machine.sh made .gpu/ here: WebGPU parity against the cpu reference, the
# paper-sized search-step bench on WebGPU under Node (Dawn on the machine's Vulkan driver), and
# the same step in PyTorch on the same GPU. Each phase has a time limit within BUDGET seconds,
# writes its own file into $OUT (default bench/results/gpu-run), and a failed phase does not
# stop the next.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-bench/results/gpu-run}
BUDGET=${BUDGET:-500}
STEPS=${STEPS:-10}
mkdir -p "$OUT"
start=$(date +%s)
G=.gpu
log() { echo "[$(( $(date +%s) - start ))s] $*" | tee -a "$OUT/log.txt"; }
# phase NAME MAX_SECONDS OUTFILE CMD...: runs CMD with at most MAX_SECONDS (and what is left).
phase() {
  local name=$1 max=$2 outfile=$3; shift 3
  local left=$(( BUDGET - ($(date +%s) - start) ))
  local limit=$(( max < left ? max : left ))
  if (( limit < 20 )); then log "skip $name: ${left}s of the budget left"; return; fi
  log "start $name (limit ${limit}s)"
  timeout "$limit" "$@" > "$OUT/$outfile" 2> >(tee -a "$OUT/log.txt" >&2)
  log "end $name: exit $?"
}

if command -v node >/dev/null && node -e 'process.exit(+process.versions.node.split(".")[0] < 20 ? 1 : 0)'; then NODE=node
else xz -dc $G/node.xz > /tmp/node && chmod +x /tmp/node && NODE=/tmp/node; fi
mkdir -p $G/node_modules/webgpu/dist/linux-x64
[ -s $G/node_modules/webgpu/dist/linux-x64/dawn.node ] || xz -dc $G/dawn.node.xz > $G/node_modules/webgpu/dist/linux-x64/dawn.node
if ! ldconfig -p | grep -q 'libvulkan.so.1 '; then
  mkdir -p /tmp/vk && dpkg -x $G/libvulkan1_*.deb /tmp/vk
  export LD_LIBRARY_PATH=/tmp/vk/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
fi
if ! ls /usr/share/vulkan/icd.d/*nvidia* /etc/vulkan/icd.d/*nvidia* >/dev/null 2>&1 && [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  [ -d /usr/local/nvidia/lib64 ] && export LD_LIBRARY_PATH=/usr/local/nvidia/lib64:${LD_LIBRARY_PATH:-}
fi
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv; $NODE --version; nproc; } > "$OUT/machine.txt" 2>&1
log "node $($NODE --version), VK_DRIVER_FILES=${VK_DRIVER_FILES:-default}"

lab() { $NODE $G/lab.mjs "$@"; }
phase parity 120 parity-webgpu.json lab parity --backend webgpu --search-steps 20
phase webgpu-darts 120 webgpu-darts.json lab bench --backend webgpu --sizes paper --modes darts --paper-steps "$STEPS"
phase webgpu-factorized 160 webgpu-factorized.json lab bench --backend webgpu --sizes paper --modes factorized --paper-steps "$STEPS"
phase pytorch 90 pytorch.json python3 bench/pytorch_supernet.py --device cuda --steps 20 --fp32
phase pytorch-tf32 60 pytorch-tf32.json python3 bench/pytorch_supernet.py --device cuda --steps 20 --modes darts,factorized
phase webgpu-nonfactorized 200 webgpu-nonfactorized.json lab bench --backend webgpu --sizes paper --modes nonfactorized --paper-steps "$STEPS"
log "done"
