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
#   make-model, Llama-3.2-1B shape (hidden 2048, 16 layers, 32/8 heads, intermediate 8192, vocab 128256, tied,
#     llama3 rope, q4f16_1, --init fast); bench score, bench train -> $OUT/bench-1b.json, $OUT/train-1b.json
#   make-model, Llama-2-7B shape (hidden 4096, 32 layers, 32/32 heads, intermediate 11008, vocab 32000,
#     q4f16_1, untied, --init fast); bench score --repeats 2 -> $OUT/bench-7b.json
#   bench train --repeats 1 on the 7B shape, in the time left -> $OUT/train-7b.json
#   a summary ($OUT/summary.json too): the GPU's name; the q4 matrix-vector kernel's GB/s as a fraction of the
#   card's bandwidth and the GEMM's GFLOP/s as a fraction of its f16 or f32 peak (KNOWN_CARDS below; null for a
#   card not in it); scoring and update times of both shapes with the legacy, tiled f32 and tiled f16 matrix
#   products; the subgroup kernels against the f32 workgroup kernels and the tiled f32 products against the
#   legacy ones (max |logprob diff|)
# (If a 1B step times out, the 7B steps are skipped.) Making each model takes ~10-30 s.
# All output also goes to $OUT/log.txt. Exit 0: all ran and every f32 comparison is within 1e-4 (subgroup vs
# workgroup kernels, tiled vs legacy matrix products); 1: one exceeds 1e-4; 2: a step failed or was skipped
# (or no subgroup comparison ran). The f16 products' difference is recorded, not checked (random weights).
#
# Here (CPU, SwiftShader or lavapipe), on a clone without node_modules:
#   OUT=/tmp/devout TWOSOME_WEBGPU=swiftshader DEVICE_CHECK_SMALL=1 bash scripts/device-check.sh
# DEVICE_CHECK_SMALL=1 shrinks the 1B/7B shapes to hidden 256 and 320, 2 layers (same head layouts, smaller vocab).
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
  local one seven
  if [ -n "$SMALL" ]; then
    one=(--hidden 256 --layers 2 --heads 8 --kv-heads 2 --intermediate 1024 --rope-scaling llama3 --vocab 2000
      --tie-embeddings true)
    seven=(--hidden 320 --layers 2 --heads 5 --kv-heads 5 --intermediate 864 --vocab 1000 --tie-embeddings false)
  else
    one=(--hidden 2048 --layers 16 --heads 32 --kv-heads 8 --intermediate 8192 --rope-scaling llama3 --vocab 128256
      --tie-embeddings true)
    seven=(--hidden 4096 --layers 32 --heads 32 --kv-heads 32 --intermediate 11008 --vocab 32000
      --tie-embeddings false)
  fi
  rm -rf "$MODELS" && mkdir -p "$MODELS"
  if ! step gpu 60 "$OUT/gpu.json" gpu --json || { [ -z "$SMALL" ] && grep -q '"software":true' "$OUT/gpu.json"; }; then
    echo "no hardware WebGPU adapter; the Vulkan loader says:"
    VK_LOADER_DEBUG=error,warn,driver timeout 30 "$K/bin/node" "$K/cli/twosome.mjs" gpu 2>&1 | head -60
    [ -z "$SMALL" ] && { echo "stopping: measurements without the GPU would mean nothing"; return 2; }
  fi
  # In order of importance: 1B scoring and update, 7B scoring, then 7B training with what time is left.
  if step make-1b 90 - make-model --out "$MODELS/1b" "${one[@]}" --quant q4f16_1 --init fast; then
    du -sh "$MODELS/1b"
    step bench-1b 150 "$OUT/bench-1b.json" bench score --model "$MODELS/1b" --json --repeats 3 &&
      step train-1b 120 "$OUT/train-1b.json" bench train --model "$MODELS/1b" --json --repeats 2
  fi
  rm -rf "$MODELS/1b"
  if [ "$LAST_RC" = 124 ] || [ "$LAST_RC" = 137 ]; then
    echo "a 1B step timed out: the 7B shape would too; stopping early to save device time"
    FAILED+=("bench-7b (skipped)" "train-7b (skipped)")
  elif step make-7b 120 - make-model --out "$MODELS/7b" "${seven[@]}" --quant q4f16_1 --init fast; then
    du -sh "$MODELS/7b"
    step bench-7b 180 "$OUT/bench-7b.json" bench score --model "$MODELS/7b" --json --repeats 2 &&
      step train-7b 200 "$OUT/train-7b.json" bench train --model "$MODELS/7b" --json --repeats 1
  fi
  rm -rf "$MODELS"

  # 4. Summary, and the subgroup check.
  echo "== summary after $((SECONDS - START))s"
  "$K/bin/node" - "$OUT" <<'EOF'
const { readFileSync, existsSync, writeFileSync } = require('node:fs');
const out = process.argv[2];
const read = (name) => {
  const path = `${out}/${name}`;
  if (!existsSync(path)) return null;
  try { return JSON.parse(readFileSync(path, 'utf8').trim().split('\n').pop()); } catch { return null; }
};
const fmt = (v, d = 1) => (typeof v === 'number' ? v.toFixed(d) : String(v));
// Known cards, by a pattern on the adapter's name: memory bandwidth (GB/s) and dense vector (non-tensor) FMA
// peaks (TFLOP/s), from the vendors' datasheets and architecture whitepapers. WGSL reaches no tensor core (only
// chromium_experimental_subgroup_matrix would), so the vector peaks are the ceiling these kernels aim at.
const KNOWN_CARDS = [
  { name: 'NVIDIA H200', pattern: /H200/i, gbps: 4800, f32: 66.9, f16: 133.8 },
  { name: 'NVIDIA H100 PCIe', pattern: /H100.*PCIe/i, gbps: 2000, f32: 51.2, f16: 102.4 },
  { name: 'NVIDIA H100 SXM5 (HBM3)', pattern: /H100/i, gbps: 3350, f32: 66.9, f16: 133.8 },
  { name: 'NVIDIA A100 80GB SXM4', pattern: /A100.*80GB/i, gbps: 2039, f32: 19.5, f16: 78 },
  { name: 'NVIDIA A100 40GB', pattern: /A100/i, gbps: 1555, f32: 19.5, f16: 78 },
  { name: 'NVIDIA L40S', pattern: /L40S/i, gbps: 864, f32: 91.6, f16: 91.6 },
  { name: 'NVIDIA L4', pattern: /\bL4\b/i, gbps: 300, f32: 30.3, f16: 30.3 },
  { name: 'NVIDIA GeForce RTX 4090', pattern: /RTX 4090/i, gbps: 1008, f32: 82.6, f16: 82.6 },
  { name: 'NVIDIA GeForce RTX 3090', pattern: /RTX 3090/i, gbps: 936, f32: 35.6, f16: 35.6 },
];
let status = 0;
let compared = 0;
const gpu = read('gpu.json');
const adapter = gpu?.adapter ?? {};
const gpuName = [adapter.description, adapter.device, adapter.vendor].filter(Boolean).join(' / ') || null;
const card = gpuName && !gpu?.software ? (KNOWN_CARDS.find((c) => c.pattern.test(gpuName)) ?? null) : null;
const known = card ? `${card.name}, ${card.gbps} GB/s, ${card.f32} / ${card.f16} TFLOP/s f32 / f16`
  : 'none (fractions null)';
console.log(`GPU: ${gpuName ?? '?'}${gpu?.software ? ' (SOFTWARE)' : ''}; known card: ${known}`);
const summary = {
  gpu: gpuName,
  software: gpu?.software ?? null,
  card: card && { name: card.name, gbps: card.gbps, f32Tflops: card.f32, f16Tflops: card.f16 },
  shapes: {},
};
const byKernels = (passes) => Object.fromEntries(Object.entries(passes ?? {}).map(([k, v]) => [k, v?.ms ?? null]));
const fraction = (value, peak) => (typeof value === 'number' && peak ? Math.round((value / peak) * 1000) / 1000 : null);
for (const [shape, what] of [['1b', 'Llama-3.2-1B shape'], ['7b', 'Llama-2-7B shape']]) {
  const r = read(`bench-${shape}.json`);
  const t = read(`train-${shape}.json`);
  const entry = (summary.shapes[shape] = { scoringMs: r?.sharedMs ?? null, updateMs: t?.sharedMs ?? null });
  if (!r) { console.log(`${what}: no scoring result`); continue; }
  const m = r.matmul ?? {};
  const best = m.gemv?.tiledF16 ? 'tiledF16' : 'tiled';
  const gemvGbps = m.gemv?.[best]?.gbps ?? null;
  const gemmGflops = m.gemm?.[best]?.gflops ?? null;
  const peak = card && (best === 'tiledF16' ? card.f16 : card.f32) * 1000;
  Object.assign(entry, {
    kernels: r.kernels,
    scoringMsByKernels: byKernels(m.passes),
    updateMsByKernels: t ? byKernels(t.matmul?.passes) : null,
    gemv: { kernels: best, matrix: m.largestMatrix, gbps: gemvGbps,
      fractionOfBandwidth: fraction(gemvGbps, card?.gbps) },
    gemm: { kernels: best, shape: m.gemmShape, gflops: gemmGflops, fractionOfPeak: fraction(gemmGflops, peak) },
  });
  console.log(`${what} (${r.kernels?.matmul} ${r.kernels?.precision}): scoring ${fmt(r.sharedMs, 2)} ms ` +
    `(shared; separate ${fmt(r.separateMs, 2)} ms), update ${fmt(t?.sharedMs, 2)} ms`);
  for (const [k, v] of Object.entries(m.passes ?? {})) {
    if (!v) continue;
    console.log(`  ${k.padEnd(9)} scoring ${fmt(v.ms, 2)} ms (matrix products ${fmt(v.matmulMs, 3)} ms GPU), ` +
      `max |logprob diff| vs legacy ${v.maxLogprobDiff.toExponential(2)}; ` +
      `update ${fmt(t?.matmul?.passes?.[k]?.ms, 2)} ms`);
  }
  console.log(`  q4 matvec ${m.largestMatrix} (${best}): ${fmt(gemvGbps)} GB/s = ` +
    `${entry.gemv.fractionOfBandwidth ?? 'null'} of the card's; GEMM ${m.gemmShape}: ${fmt(gemmGflops)} GFLOP/s = ` +
    `${entry.gemm.fractionOfPeak ?? 'null'} of its peak`);
  const tiledDiff = m.passes?.tiled?.maxLogprobDiff;
  if (typeof tiledDiff === 'number' && tiledDiff > 1e-4) {
    status = 1;
    console.log(`  TILED CHECK FAILED: tiled f32 vs legacy f32, max |logprob diff| ${tiledDiff.toExponential(3)} ` +
      '(limit 1e-4)');
  }
  const s = r.subgroups;
  if (!s) { console.log('  subgroups: NOT COMPARED (the adapter has no subgroups feature)'); continue; }
  compared++;
  const ok = s.maxLogprobDiff <= 1e-4;
  if (!ok) status = 1;
  const sizes = s.subgroupSizes ? `${s.subgroupSizes.min}-${s.subgroupSizes.max}` : 'unreported';
  console.log(`  SUBGROUP CHECK ${ok ? 'OK' : 'FAILED'}: subgroup vs f32 workgroup kernels, max |logprob diff| ${s.maxLogprobDiff.toExponential(3)} (limit 1e-4); subgroup sizes ${sizes}; engine default ${s.engineDefault ? 'subgroups' : 'workgroup'}` +
    (s.matvec ? `; matvec ${s.matvec.subgroupGbps} vs ${s.matvec.workgroupGbps} GB/s` : ''));
}
writeFileSync(`${out}/summary.json`, `${JSON.stringify(summary, null, 1)}\n`);
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
