#!/usr/bin/env bash
# Builds .device/ (and .gl/), what scripts/device-check.sh needs on a lent GPU machine that has no Node:
#   .device/kit.tar.xz   bin/node              this machine's node binary (x86-64 Linux)
#                        cli/twosome.mjs       the CLI (src/cli/main.ts) as one esbuild bundle: every JS
#                                              dependency inlined, the WGSL shaders embedded, the tokenizer's
#                                              wasm inline (base64, as @mlc-ai/web-tokenizers ships it)
#                        cli/dist/linux-x64/dawn.node   webgpu's native Dawn, where the bundled webgpu/index.js
#                                              looks for it (next to the bundle)
#                        lib/vulkan/libvulkan.so.1       this machine's Vulkan loader (fallback when dpkg is missing)
#                        lib/stdcxx/libstdc++.so.6       this machine's libstdc++ (dawn.node needs GLIBCXX_3.4.30;
#                                              used only where the device's is older)
#   .gl/libvulkan1_*.deb the Vulkan loader, as the device docs install it (dpkg -x into /)
# Both folders are git-ignored; the device tool carries them: run(carry=['.device', '.gl']).
# Usage: bash scripts/device-kit.sh   (from anywhere; about 2 minutes on 2 cores, most of it xz -9)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

[ "$(uname -m)" = x86_64 ] || { echo "device-kit: this machine is $(uname -m); the device is x86-64" >&2; exit 1; }
[ -x node_modules/.bin/esbuild ] || { echo "device-kit: node_modules/.bin/esbuild missing; run npm ci" >&2; exit 1; }
DAWN=node_modules/webgpu/dist/linux-x64/dawn.node
[ -f "$DAWN" ] || { echo "device-kit: $DAWN missing" >&2; exit 1; }

rm -rf .device
STAGE=$(mktemp -d /tmp/twosome-kit.XXXXXX)
trap 'rm -rf "$STAGE"' EXIT
mkdir -p .device "$STAGE/bin" "$STAGE/cli/dist/linux-x64" "$STAGE/lib/vulkan" "$STAGE/lib/stdcxx"

# 1. The CLI as one ESM file for Node 20+.
node --input-type=module - "$ROOT" "$STAGE/cli/twosome.mjs" <<'EOF'
import { build } from 'esbuild';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
const [root, outfile] = process.argv.slice(2);

// shader-source.ts reads shaders/ next to the sources unless import.meta.env says Vite bundled them:
// hand it the files the way Vite's import.meta.glob would.
const shaderDir = join(root, 'shaders');
const shaders = {};
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (name.endsWith('.wgsl')) shaders[`../../shaders/${relative(shaderDir, path)}`] = readFileSync(path, 'utf8');
  }
};
walk(shaderDir);
const replaceOnce = (text, from, to, file) => {
  if (!text.includes(from)) throw new Error(`device-kit: ${file} no longer contains ${JSON.stringify(from)}; update scripts/device-kit.sh`);
  return text.replace(from, to);
};
const embed = {
  name: 'twosome-device',
  setup(b) {
    b.onLoad({ filter: /src[\\/]gpu[\\/]shader-source\.ts$/ }, (args) => {
      let text = readFileSync(args.path, 'utf8');
      text = replaceOnce(text, '(import.meta as ImportMeta & { env?: unknown }).env', 'true', 'shader-source.ts');
      text = replaceOnce(text, "import.meta.glob('../../shaders/**/*.wgsl', { query: '?raw', import: 'default', eager: true })", JSON.stringify(shaders), 'shader-source.ts');
      return { contents: text, loader: 'ts' };
    });
    // `--model micro` is public/models/micro of the working directory (run the bundle from the repo root).
    b.onLoad({ filter: /src[\\/]cli[\\/]model-source\.ts$/ }, (args) => {
      let text = readFileSync(args.path, 'utf8');
      text = replaceOnce(text, "new URL('../../public/models/micro/', import.meta.url)", "new URL('public/models/micro/', `file://${process.cwd()}/`)", 'model-source.ts');
      return { contents: text, loader: 'ts' };
    });
  },
};
const result = await build({
  stdin: { contents: "import { main } from './src/cli/main.ts';\nprocess.exitCode = await main(process.argv.slice(2));\n", resolveDir: root, sourcefile: 'device-entry.ts', loader: 'ts' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outfile,
  plugins: [embed],
  logLevel: 'warning',
  // CommonJS inside the bundle (the tokenizer's emscripten glue uses require and __filename).
  banner: {
    js: [
      "import { createRequire as __twosomeCreateRequire } from 'node:module';",
      "import { fileURLToPath as __twosomeFileURLToPath } from 'node:url';",
      'const require = __twosomeCreateRequire(import.meta.url);',
      'const __filename = __twosomeFileURLToPath(import.meta.url);',
    ].join('\n'),
  },
  metafile: true,
});
const inputs = Object.keys(result.metafile.inputs);
console.log(`bundle: ${inputs.length} inputs, ${Object.keys(shaders).length} shaders embedded`);
EOF
cp "$DAWN" "$STAGE/cli/dist/linux-x64/dawn.node"

# 2. Node itself, and the two shared libraries that may be missing or too old on the device.
cp "$(readlink -f "$(command -v node)")" "$STAGE/bin/node"
cp "$(readlink -f /lib/x86_64-linux-gnu/libstdc++.so.6)" "$STAGE/lib/stdcxx/libstdc++.so.6"
if [ -e /lib/x86_64-linux-gnu/libvulkan.so.1 ]; then
  cp "$(readlink -f /lib/x86_64-linux-gnu/libvulkan.so.1)" "$STAGE/lib/vulkan/libvulkan.so.1"
else
  echo "device-kit: no libvulkan.so.1 on this machine; the kit relies on .gl/*.deb or the device's own loader"
fi
{ echo "built $(date -u +%FT%TZ) from $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src shaders || echo '+changes')"; "$STAGE/bin/node" --version; } > "$STAGE/VERSION"

# Smoke test of the staged kit before packing: the bundle runs with this node from its own folder (and, where
# SwiftShader is installed, loads dawn.node, the tokenizer's wasm and the micro model, and scores).
(cd "$ROOT" && "$STAGE/bin/node" "$STAGE/cli/twosome.mjs" env list >/dev/null) || { echo "device-kit: the bundle does not run" >&2; exit 1; }
if [ -f /usr/lib/chromium/vk_swiftshader_icd.json ]; then
  (cd "$ROOT" && TWOSOME_WEBGPU=swiftshader timeout 120 "$STAGE/bin/node" "$STAGE/cli/twosome.mjs" score --model micro --task tomato-salad --json >/dev/null) ||
    { echo "device-kit: the bundle cannot score with the micro model" >&2; exit 1; }
  echo "smoke test: the bundle scores with the micro model on SwiftShader"
fi

tar -C "$STAGE" -cf - . | xz -9 -T0 > .device/kit.tar.xz

# 3. The Vulkan loader .deb (the device docs' recipe).
mkdir -p .gl /tmp/amd64/partial
o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
if ls .gl/libvulkan1_*.deb >/dev/null 2>&1; then
  echo ".gl: $(ls .gl) (kept)"
elif timeout 120 apt-get $o update >/dev/null 2>&1 && (cd .gl && timeout 120 apt-get $o download libvulkan1 >/dev/null 2>&1); then
  echo ".gl: $(ls .gl)"
else
  echo "device-kit: apt-get could not download libvulkan1 (no network?); the device will use the kit's lib/vulkan copy"
fi

# Sizes: what the device tool copies (tracked + untracked-not-ignored files) plus the carried folders.
tree=$(git ls-files -z -co --exclude-standard | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
dev=$(du -sb .device | cut -f1)
gl=$(du -sb .gl | cut -f1)
echo "kit contents (uncompressed):"
(cd "$STAGE" && find . -type f -printf '  %10s  %p\n' | sort -k2)
printf 'sizes: .device %d bytes (kit.tar.xz), .gl %d, working tree %d; total %d bytes (%.1f MiB of 64 MiB)\n' \
  "$dev" "$gl" "$tree" $((dev + gl + tree)) "$(echo "($dev + $gl + $tree) / 1048576" | bc -l)"
