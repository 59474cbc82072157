#!/usr/bin/env bash
# The real-GPU check, in one call of the device tool (which has no Node: everything comes in .device/):
#
#   run(command="bash scripts/device-check.sh", carry=[".device", ".gl"], timeout_s=480)
#
# Build .device/ and .gl/ first, here: `bash scripts/device-kit.sh` (32 MiB with the working tree).
# On the device, from the repo root: unpacks the kit into /tmp, installs the Vulkan loader if missing, points
# the loader at the NVIDIA driver if it finds none, then, each step under its own timeout and all of it
# under DEVICE_CHECK_BUDGET seconds (default 400):
#   twosome gpu --json                                   -> $OUT/gpu.json (stops here without a hardware adapter)
#   twosome bench score --model micro --json             -> $OUT/bench-micro.json
#   make-model, Llama-2-7B shape (hidden 4096, 32 layers, 32/32 heads, intermediate 11008, vocab 32000,
#     q4f16_1, untied, --init fast); bench score --repeats 2 -> $OUT/bench-7b.json
#   make-model, Llama-3-8B shape (4096, 32 layers, 32/8 heads, 14336, vocab 128256, llama3 rope, --init fast);
#     bench score --repeats 2                            -> $OUT/bench-8b.json
#   bench train --repeats 1 on the 7B shape, in the time left -> $OUT/train-7b.json
#   a summary: the figures, and the subgroup kernels against the f32 workgroup kernels (max |logprob diff|)
# (If the 7B scoring times out, the 8B and training steps are skipped.) Making each model takes ~30 s.
# All output also goes to $OUT/log.txt. Exit 0: all ran and every subgroup comparison is within 1e-4;
# 1: a subgroup comparison exceeds 1e-4; 2: a step failed or was skipped (or no subgroup comparison ran).
#
# Here (CPU, SwiftShader), on a clone without node_modules:
#   OUT=/tmp/devout TWOSOME_WEBGPU=swiftshader DEVICE_CHECK_SMALL=1 bash scripts/device-check.sh
# DEVICE_CHECK_SMALL=1 shrinks the 7B/8B shapes to hidden 256, 2 layers (same head layouts, smaller vocab).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/device-check-out}
mkdir -p "$OUT"
LOG=$OUT/log.txt
: > "$LOG"
K=${DEVICE_CHECK_KIT:-/tmp/twosome-device}
MODELS=${DEVICE_CHECK_MODELS:-/tmp/twosome-models}
BUDGET=${DEVICE_CHECK_BUDGET:-400}
SMALL=${DEVICE_CHECK_SMALL:-}
export TWOSOME_DEBUG=1 # stack traces in the log: there is no second look at the device

FAILED=()
LAST_RC=0 # exit status of the last step (124: timed out)
START=$SECONDS

# step NAME LIMIT OUTFILE|- twosome-args...: runs the bundled CLI under min(LIMIT, budget left) seconds.
step() {
  local name=$1 limit=$2 out=$3 rc
  shift 3
  local left=$((BUDGET - (SECONDS - START)))
  if [ "$left" -lt 20 ]; then
    echo "== $name: SKIPPED (${left}s of the ${BUDGET}s budget left)"
    FAILED+=("$name (skipped)")
    return 1
  fi
  [ "$limit" -gt "$left" ] && limit=$left
  echo "== $name (timeout ${limit}s): twosome $*"
  local t0=$SECONDS
  if [ "$out" = - ]; then
    timeout -k 5 "$limit" "$K/bin/node" "$K/cli/twosome.mjs" "$@"
    rc=$?
  else
    timeout -k 5 "$limit" "$K/bin/node" "$K/cli/twosome.mjs" "$@" > "$out"
    rc=$?
    head -c 600 "$out" && echo
  fi
  LAST_RC=$rc
  echo "== $name: exit $rc after $((SECONDS - t0))s"
  if [ "$rc" -ne 0 ]; then
    FAILED+=("$name (exit $rc$([ "$rc" -eq 124 ] && echo ', timed out'))")
    return 1
  fi
}

main() {
  echo "== device-check $(date -u +%FT%TZ) on $(uname -n): $(nproc) cores, $(free -g 2>/dev/null | awk '/^Mem:/ {print $2 " GiB"}'), $(ldd --version 2>&1 | head -1)"
  [ -f .device/kit.tar.xz ] || { echo "no .device/kit.tar.xz: build it with scripts/device-kit.sh and carry .device"; return 2; }

  # 1. The kit: node, the CLI bundle, dawn.node.
  rm -rf "$K" && mkdir -p "$K"
  if command -v xz >/dev/null; then
    tar -C "$K" -xJf .device/kit.tar.xz
  else
    python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' .device/kit.tar.xz "$K"
  fi || { echo "cannot unpack .device/kit.tar.xz"; return 2; }
  cat "$K/VERSION"

  # 2. Shared libraries: the Vulkan loader (dlopen'ed by Dawn), and a libstdc++ new enough for dawn.node.
  if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1 '; then
    if command -v dpkg >/dev/null && ls .gl/*.deb >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
      for f in .gl/*.deb; do dpkg -x "$f" /; done
      ldconfig
      echo "installed the Vulkan loader from $(ls .gl/*.deb)"
    fi
    if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1 '; then
      export LD_LIBRARY_PATH=$K/lib/vulkan${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
      echo "using the kit's libvulkan.so.1"
    fi
  fi
  local stdcxx
  stdcxx=$(ldconfig -p 2>/dev/null | awk '/libstdc\+\+\.so\.6 .*x86-64/ {print $NF; exit}')
  if [ -z "$stdcxx" ] || ! grep -aq GLIBCXX_3.4.30 "$stdcxx"; then
    export LD_LIBRARY_PATH=$K/lib/stdcxx${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    echo "using the kit's libstdc++ (the system's ${stdcxx:-none} lacks GLIBCXX_3.4.30)"
  fi
  # The NVIDIA driver: its ICD where the loader does not look by default, its libraries where containers mount them.
  if [ -z "$SMALL" ]; then
    local nv=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
    if ! cat /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json /usr/local/share/vulkan/icd.d/*.json 2>/dev/null | grep -qi nvidia && [ -f "$nv" ]; then
      export VK_DRIVER_FILES=$nv VK_ICD_FILENAMES=$nv
      echo "VK_DRIVER_FILES=$nv"
    fi
    for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do [ -d "$d" ] && export LD_LIBRARY_PATH=$LD_LIBRARY_PATH:$d; done
    [ -f "$nv" ] && tr -d '\n ' < "$nv" && echo
    echo "NVIDIA_DRIVER_CAPABILITIES=${NVIDIA_DRIVER_CAPABILITIES:-unset}; GLX_nvidia (the ICD's library): $( (ldconfig -p; ls /usr/local/nvidia/lib64 /usr/local/nvidia/lib 2>/dev/null) | grep -o 'libGLX_nvidia[^ ]*' | sort -u | tr '\n' ' ')"
    command -v nvidia-smi >/dev/null && nvidia-smi -L
    [ -e /dev/nvidia0 ] || echo "warning: no /dev/nvidia0; Dawn will not see a hardware GPU"
  fi
  echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"

  # 3. The measurements.
  # Big models get fewer timed repeats (the separate layout is ~6x the shared one's work, and training ~3x
  # scoring); each figure is still the median after a warm-up run.
  local seven eight
  if [ -n "$SMALL" ]; then
    seven=(--hidden 256 --layers 2 --heads 8 --kv-heads 8 --intermediate 704 --vocab 1000)
    eight=(--hidden 256 --layers 2 --heads 8 --kv-heads 2 --intermediate 896 --rope-scaling llama3 --vocab 2000)
  else
    seven=(--hidden 4096 --layers 32 --heads 32 --kv-heads 32 --intermediate 11008 --vocab 32000)
    eight=(--hidden 4096 --layers 32 --heads 32 --kv-heads 8 --intermediate 14336 --rope-scaling llama3 --vocab 128256)
  fi
  rm -rf "$MODELS" && mkdir -p "$MODELS"
  if ! step gpu 60 "$OUT/gpu.json" gpu --json || { [ -z "$SMALL" ] && grep -q '"software":true' "$OUT/gpu.json"; }; then
    echo "no hardware WebGPU adapter; the Vulkan loader says:"
    VK_LOADER_DEBUG=error,warn,driver timeout 30 "$K/bin/node" "$K/cli/twosome.mjs" gpu 2>&1 | head -60
    [ -z "$SMALL" ] && { echo "stopping: measurements without the GPU would mean nothing"; return 2; }
  fi
  step bench-micro 90 "$OUT/bench-micro.json" bench score --model micro --json
  # In order of importance: 7B scoring, 8B scoring, then 7B training with what time is left.
  local have7=
  if step make-7b 120 - make-model --out "$MODELS/7b" "${seven[@]}" --quant q4f16_1 --tie-embeddings false --init fast; then
    have7=1
    du -sh "$MODELS/7b"
    step bench-7b 180 "$OUT/bench-7b.json" bench score --model "$MODELS/7b" --json --repeats 2
  fi
  if [ "$LAST_RC" = 124 ] || [ "$LAST_RC" = 137 ]; then
    echo "the 7B step timed out: the 8B shape and training would too; stopping early to save device time"
    FAILED+=("bench-8b (skipped)" "train-7b (skipped)")
  else
    if step make-8b 120 - make-model --out "$MODELS/8b" "${eight[@]}" --quant q4f16_1 --tie-embeddings false --init fast; then
      du -sh "$MODELS/8b"
      step bench-8b 180 "$OUT/bench-8b.json" bench score --model "$MODELS/8b" --json --repeats 2
    fi
    rm -rf "$MODELS/8b"
    [ -n "$have7" ] && step train-7b 200 "$OUT/train-7b.json" bench train --model "$MODELS/7b" --json --repeats 1
  fi
  rm -rf "$MODELS"

  # 4. Summary, and the subgroup check.
  echo "== summary after $((SECONDS - START))s"
  "$K/bin/node" - "$OUT" <<'EOF'
const { readFileSync, existsSync } = require('node:fs');
const out = process.argv[2];
const read = (name) => {
  const path = `${out}/${name}`;
  if (!existsSync(path)) return null;
  try { return JSON.parse(readFileSync(path, 'utf8').trim().split('\n').pop()); } catch { return null; }
};
const fmt = (v, d = 1) => (typeof v === 'number' ? v.toFixed(d) : String(v));
let status = 0;
let compared = 0;
const gpu = read('gpu.json');
if (gpu) console.log(`adapter: ${JSON.stringify(gpu.adapterInfo ?? gpu.adapter ?? gpu).slice(0, 400)}`);
for (const [file, what] of [['bench-micro.json', 'micro'], ['bench-7b.json', 'Llama-2-7B shape'], ['bench-8b.json', 'Llama-3-8B shape']]) {
  const r = read(file);
  if (!r) { console.log(`${what}: no result`); continue; }
  const d = r.device ?? {};
  console.log(`${what} on ${d.description || d.device || d.vendor || '?'} (${d.architecture ?? ''}${d.software ? ', SOFTWARE' : ''}): shared ${fmt(r.sharedMs, 2)} ms, separate ${fmt(r.separateMs, 2)} ms, ${fmt(r.speedup, 2)}x, max |logprob diff| shared vs separate ${r.maxLogprobDiff?.toExponential(2)}` +
    (r.matvec ? `; ${r.matvec.format} matvec ${r.matvec.outDim}x${r.matvec.inDim} ${fmt(r.matvec.gbps)} GB/s` : ''));
  const s = r.subgroups;
  if (!s) { console.log(`  subgroups: NOT COMPARED (the adapter has no subgroups feature)`); continue; }
  compared++;
  const ok = s.maxLogprobDiff <= 1e-4;
  if (!ok) status = 1;
  const sizes = s.subgroupSizes ? `${s.subgroupSizes.min}-${s.subgroupSizes.max}` : 'unreported';
  console.log(`  SUBGROUP CHECK ${ok ? 'OK' : 'FAILED'}: subgroup vs f32 workgroup kernels, max |logprob diff| ${s.maxLogprobDiff.toExponential(3)} (limit 1e-4); subgroup sizes ${sizes}; engine default ${s.engineDefault ? 'subgroups' : 'workgroup'}` +
    (s.matvec ? `; matvec ${s.matvec.subgroupGbps} vs ${s.matvec.workgroupGbps} GB/s` : ''));
  const sum = (key) => s.kernels.reduce((a, k) => a + k[key], 0);
  console.log(`  kernel time, shared pass: ${fmt(sum('subgroupMs'), 3)} ms with subgroups, ${fmt(sum('workgroupMs'), 3)} ms without`);
}
const t = read('train-7b.json');
if (t) console.log(`train, Llama-2-7B shape: shared ${fmt(t.sharedMs, 2)} ms, separate ${fmt(t.separateMs, 2)} ms, ${fmt(t.speedup, 2)}x, gradient rel. diff ${t.gradientRelativeDiff?.toExponential(2)}`);
else console.log('train, Llama-2-7B shape: no result');
if (status === 0 && compared === 0) status = 3;
process.exitCode = status;
EOF
  local summary=$?
  [ ${#FAILED[@]} -gt 0 ] && echo "failed or skipped: ${FAILED[*]}"
  echo "== done in $((SECONDS - START))s"
  if [ "$summary" -eq 1 ]; then return 1; fi
  if [ ${#FAILED[@]} -gt 0 ] || [ "$summary" -ne 0 ]; then return 2; fi
  return 0
}

main 2>&1 | tee -a "$LOG"
exit "${PIPESTATUS[0]}"
