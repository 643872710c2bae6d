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
# The Vulkan loader, and the GL dispatch libraries NVIDIA's Vulkan driver (libGLX_nvidia) needs.
if ! ldconfig -p | grep -q 'libvulkan.so.1 '; then
  for f in $G/libvulkan1_*.deb $G/gl/*.deb; do [ -f "$f" ] && dpkg -x "$f" /; done
  ldconfig
fi
if ! ls /usr/share/vulkan/icd.d/*nvidia* /etc/vulkan/icd.d/*nvidia* >/dev/null 2>&1 && [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  [ -d /usr/local/nvidia/lib64 ] && export LD_LIBRARY_PATH=/usr/local/nvidia/lib64:${LD_LIBRARY_PATH:-}
fi
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv; $NODE --version; nproc; } > "$OUT/machine.txt" 2>&1
log "node $($NODE --version), VK_DRIVER_FILES=${VK_DRIVER_FILES:-default}"

# First the question a lent GPU must answer (is the lab's paper-size step, compiled by default,
# faster than PyTorch eager's on this GPU?), then what the compiled step buys and whether it
# computes the same, then parity and the costly non-factorized rows. Each bench row stops timing
# after ROW_SECONDS (checked between steps, so a row runs at most one step, or one split sample,
# past it) and reports what it timed: a killed phase would print nothing. Factorized is two rows
# (joint and sequential architecture updates).
ROW=${ROW_SECONDS:-40}
# The GPU's memory (90% of it) as the lab's budget, so "auto" keeps every cell as a GPU's step
# can (the default 4 GiB would recompute cells at the paper's size, a slower step).
GPU_GB=${GPU_GB:-$(nvidia-smi --query-gpu=memory.total --format=csv,noheader,nounits 2>/dev/null | head -1 | awk '{ printf "%d", $1 / 1024 * 0.9 }')}
GPU_GB=${GPU_GB:-16}
phase webgpu-darts 100 webgpu-darts.json $NODE $G/lab.mjs bench --backend webgpu --sizes paper --modes darts --paper-steps "$STEPS" --row-seconds "$ROW" --budget-gb "$GPU_GB"
phase webgpu-factorized 170 webgpu-factorized.json $NODE $G/lab.mjs bench --backend webgpu --sizes paper --modes factorized --paper-steps "$STEPS" --row-seconds "$ROW" --budget-gb "$GPU_GB"
# PyTorch in float32 (tfjs has no TF32).
[ -n "${SKIP_PYTORCH:-}" ] || phase pytorch 60 pytorch.json python3 bench/pytorch_supernet.py --device cuda --steps 10 --fp32 --modes darts,factorized
# The compiled step against the uncompiled one in every mode, 20 steps: what each step issues,
# and the losses and weights bit for bit on this GPU.
phase compiled-check 150 compiled-check.json $NODE $G/lab.mjs compiled-check --steps 20
# The same step uncompiled (each step runs its code): what the compiled step buys on this GPU.
phase webgpu-uncompiled 120 webgpu-uncompiled.json $NODE $G/lab.mjs bench --backend webgpu --sizes paper --modes darts,factorized --paper-steps "$STEPS" --row-seconds "$ROW" --budget-gb "$GPU_GB" --no-compiled --no-split
# The steps' CPU side alone (Dawn's null adapter runs no command), compiled and uncompiled.
phase dispatch-cost 90 dispatch-cost.json $NODE $G/lab.mjs dispatch-cost --steps 5 --compare compiled
# PyTorch with its default TF32 convolutions.
[ -n "${SKIP_PYTORCH:-}" ] || phase pytorch-tf32 40 pytorch-tf32.json python3 bench/pytorch_supernet.py --device cuda --steps 10 --modes darts,factorized
phase parity 90 parity-webgpu.json $NODE $G/lab.mjs parity --backend webgpu --search-steps 20
phase webgpu-nonfactorized 100 webgpu-nonfactorized.json $NODE $G/lab.mjs bench --backend webgpu --sizes paper --modes nonfactorized --paper-steps "$STEPS" --row-seconds "$ROW" --budget-gb "$GPU_GB"
[ -n "${SKIP_PYTORCH:-}" ] || phase pytorch-nonfactorized 40 pytorch-nonfactorized.json python3 bench/pytorch_supernet.py --device cuda --steps 5 --fp32 --modes nonfactorized
log "done"
