#!/usr/bin/env bash
# Installs Mesa 25's lavapipe (Vulkan on the CPU, adapter "llvmpipe") for Dawn in Node: a WebGPU adapter with
# `shader-f16` and `subgroups` (size 8) on a machine without a GPU, which SwiftShader lacks. Debian 12's own
# Mesa 22.3 lavapipe is too old for Dawn; `mesa-vulkan-drivers` from bookworm-backports works with the
# system's libLLVM-15.
#
# Touches no installed package and no system apt configuration: apt reads a private sources list (the
# machine's Debian mirror, suite bookworm-backports) with private lists and cache in a temporary directory,
# `apt-get download` fetches the one .deb, `dpkg -x` unpacks it, and the script writes an ICD manifest that
# names the unpacked libvulkan_lvp.so. It goes into the user's cache, not the checkout, so one install serves
# every checkout and the CLI wherever it runs (src/gpu/node-gpu.ts finds it by the same rule):
#   ${TWOSOME_LAVAPIPE_DIR:-${XDG_CACHE_HOME:-~/.cache}/twosome-web/lavapipe}/lvp_icd.json
# Idempotent: a second run checks the install and exits. Needs no root; needs network to the Debian mirror.
#   bash scripts/setup-lavapipe.sh            install, or check the install
#   bash scripts/setup-lavapipe.sh --force    download and unpack again (e.g. for a newer backport)
# Then: TWOSOME_WEBGPU=lavapipe twosome gpu
set -euo pipefail

DIR="${TWOSOME_LAVAPIPE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/twosome-web/lavapipe}"
ICD="$DIR/lvp_icd.json"
SUITE=bookworm-backports
PACKAGE=mesa-vulkan-drivers
MIN_MAJOR=25 # Mesa 25.0.7 is what was checked with Dawn; 22.3 is rejected.
SKIP_HINT="or skip the lavapipe test stage with TWOSOME_TEST_SKIP_LAVAPIPE=1 (its tests then run on SwiftShader)"

say() { echo "setup-lavapipe: $*"; }
fail() {
  echo "setup-lavapipe: error: $*" >&2
  exit 1
}

force=0
case "${1:-}" in
  '') ;;
  --force) force=1 ;;
  -h | --help)
    sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *) fail "unknown option '$1' (use --force or --help)" ;;
esac

# The package whose file a missing library is, for the libraries lavapipe and libLLVM-15 link.
package_of() {
  case "$1" in
    libLLVM-15.so.1) echo libllvm15 ;;
    libz.so.1) echo zlib1g ;;
    libzstd.so.1) echo libzstd1 ;;
    libdrm.so.2) echo libdrm2 ;;
    libexpat.so.1) echo libexpat1 ;;
    libxcb.so.1) echo libxcb1 ;;
    libxcb-dri3.so.0) echo libxcb-dri3-0 ;;
    libxcb-*.so.*) echo "$1" | sed -E 's/^lib(xcb-[a-z]+)\.so\.([0-9]+)$/lib\1\2/' ;;
    libX11-xcb.so.1) echo libx11-xcb1 ;;
    libxshmfence.so.1) echo libxshmfence1 ;;
    libwayland-client.so.0) echo libwayland-client0 ;;
    libstdc++.so.6) echo libstdc++6 ;;
    libz3.so.4) echo libz3-4 ;;
    libedit.so.2) echo libedit2 ;;
    libxml2.so.2) echo libxml2 ;;
    libffi.so.8) echo libffi8 ;;
    libtinfo.so.6) echo libtinfo6 ;;
    *) echo "the package that has $1" ;;
  esac
}

# Every library lavapipe loads must resolve on this machine (it uses the system's libraries, not the unpacked
# package's: the libdrm symbols it calls are all in bookworm's libdrm 2.4.114, though the package asks for more).
check_libraries() {
  local lib="$1" missing packages
  [ -f "$lib" ] || fail "$lib is missing: run again with --force"
  missing=$(ldd "$lib" 2>&1 | awk '/not found/ {print $1}' | sort -u)
  if [ -n "$missing" ]; then
    packages=$(for m in $missing; do package_of "$m"; done | sort -u | tr '\n' ' ')
    fail "lavapipe needs libraries this machine lacks: $(echo $missing): install them" \
      "(apt-get install --no-install-recommends ${packages% }), then run this script again"
  fi
}

installed_library() { sed -n 's/.*"library_path": *"\([^"]*\)".*/\1/p' "$ICD"; }

if [ -n "${TWOSOME_LAVAPIPE_ICD:-}" ]; then
  [ -f "$TWOSOME_LAVAPIPE_ICD" ] || fail "TWOSOME_LAVAPIPE_ICD=$TWOSOME_LAVAPIPE_ICD does not exist"
  say "TWOSOME_LAVAPIPE_ICD names $TWOSOME_LAVAPIPE_ICD: nothing to install"
  exit 0
fi

if [ "$force" = 0 ] && [ -f "$ICD" ]; then
  lib=$(installed_library)
  check_libraries "$lib"
  say "already installed: $(cat "$DIR/VERSION" 2>/dev/null || echo 'unknown version') ($ICD -> $lib);" \
    "--force downloads it again"
  exit 0
fi

# Debian 12 only: the backport is built against bookworm's libraries.
codename=$( (. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}") || true)
pretty=$( (. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-}") || true)
if [ "$codename" != bookworm ] || ! command -v apt-get >/dev/null || ! command -v dpkg >/dev/null; then
  fail "this script installs Debian 12 (bookworm)'s backported Mesa and runs only there (this is" \
    "${pretty:-an unknown system}). Elsewhere install a Mesa $MIN_MAJOR or newer lavapipe from the distribution" \
    "(Debian 13: apt-get install mesa-vulkan-drivers) and set TWOSOME_LAVAPIPE_ICD to its manifest" \
    "(e.g. /usr/share/vulkan/icd.d/lvp_icd.x86_64.json), $SKIP_HINT"
fi

# The machine's Debian mirror and key, from its own sources (deb822 or one-line), else deb.debian.org.
mirror_and_key() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk 'function flush() {
           if (types ~ /(^| )deb( |$)/ && suites ~ /(^| )bookworm( |$)/ && comps ~ /(^| )main( |$)/ && uri != "") {
             print uri, (key ~ /^\// ? key : "-"); found = 1; exit
           }
           types = suites = comps = uri = key = ""
         }
         /^[ \t]*$/ { flush(); next }
         /^Types:/ { sub(/^Types:[ \t]*/, ""); types = $0 }
         /^URIs:/ { uri = $2 }
         /^Suites:/ { sub(/^Suites:[ \t]*/, ""); suites = $0 }
         /^Components:/ { sub(/^Components:[ \t]*/, ""); comps = $0 }
         /^Signed-By:/ { key = $2 }
         END { if (!found) flush() }' "$f"
  done
  local type rest opts uri suite comps
  while read -r type rest; do
    [ "$type" = deb ] || continue
    opts=""
    if [[ $rest == \[* ]]; then
      opts=${rest%%]*}
      rest=${rest#*]}
    fi
    read -r uri suite comps <<<"$rest"
    [ "$suite" = bookworm ] && [[ " $comps " == *" main "* ]] || continue
    echo "$uri $(echo "$opts" | sed -n 's/.*signed-by=\([^ ]*\).*/\1/p' | grep . || echo -)"
    return
  done < <(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null)
  echo "http://deb.debian.org/debian /usr/share/keyrings/debian-archive-keyring.gpg"
}
read -r mirror key < <(mirror_and_key | head -n 1)
[ "$key" != - ] && [ -f "$key" ] || key=""

mkdir -p "$DIR"
exec 9>"$DIR/.lock"
flock 9 # one install at a time: each removes the trees that are not its own
work=$(mktemp -d "$DIR/.install.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/debs" "$work/root"
echo "deb ${key:+[signed-by=$key] }$mirror $SUITE main" >"$work/sources.list"
# A private configuration read after the system's (so proxies there still apply): only our sources, our
# lists and cache, and none of the system's post-update hooks.
cat >"$work/apt.conf" <<EOF
Dir::Etc::SourceList "$work/sources.list";
Dir::Etc::SourceParts "-";
Dir::State::Lists "$work/lists";
Dir::Cache "$work/cache";
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Acquire::Retries "2";
Acquire::http::Timeout "30";
#clear APT::Update::Pre-Invoke;
#clear APT::Update::Post-Invoke;
#clear APT::Update::Post-Invoke-Success;
EOF
[ "$(id -u)" = 0 ] && echo 'APT::Sandbox::User "root";' >>"$work/apt.conf" # _apt cannot write in $work
apt_private() { apt-get -c "$work/apt.conf" "$@"; }

say "reading $SUITE from $mirror (private apt lists in $work)"
if ! apt_private -q --error-on=any update >"$work/update.log" 2>&1; then
  sed 's/^/  /' "$work/update.log" >&2
  fail "could not read $SUITE from $mirror (no network?): run this again where $mirror is reachable," \
    "or copy $DIR from another Debian 12 machine to the same path, $SKIP_HINT"
fi
version=$(apt-cache -c "$work/apt.conf" policy "$PACKAGE" | awk '/Candidate:/ {print $2}')
case "$version" in
  '' | '(none)') fail "$SUITE at $mirror has no $PACKAGE" ;;
esac
[ "${version%%.*}" -ge "$MIN_MAJOR" ] 2>/dev/null ||
  fail "$SUITE has $PACKAGE $version; Dawn needs Mesa $MIN_MAJOR or newer"

say "downloading $PACKAGE $version"
(cd "$work/debs" && apt_private -q download "$PACKAGE=$version" >"$work/download.log" 2>&1) || {
  sed 's/^/  /' "$work/download.log" >&2
  fail "apt-get download $PACKAGE=$version failed (see above), $SKIP_HINT"
}
dpkg -x "$work/debs/"*.deb "$work/root"
lib=$(find "$work/root" -name libvulkan_lvp.so -type f | head -n 1)
[ -n "$lib" ] || fail "$PACKAGE $version has no libvulkan_lvp.so"
check_libraries "$lib"

# Move into a new directory, switch the manifest over, then remove older trees: a failed run never leaves the
# manifest naming a half-written tree, and a process already running on the old tree keeps its mapped files.
target="$DIR/mesa-$(echo "$version" | tr '~:' '__').${work##*.install.}"
mv "$work/root" "$target"
lib="$target${lib#"$work/root"}"
api=$(sed -n 's/.*"api_version": *"\([^"]*\)".*/\1/p' "$target/usr/share/vulkan/icd.d/lvp_icd.json" 2>/dev/null)
printf '{"ICD":{"api_version":"%s","library_path":"%s"},"file_format_version":"1.0.0"}\n' "${api:-1.3.0}" "$lib" \
  >"$work/lvp_icd.json"
mv "$work/lvp_icd.json" "$ICD"
echo "$PACKAGE $version" >"$DIR/VERSION"
for old in "$DIR"/mesa-*; do [ "$old" = "$target" ] || rm -rf "$old"; done
say "installed $PACKAGE $version: $ICD -> $lib"
say "use it with TWOSOME_WEBGPU=lavapipe (e.g. TWOSOME_WEBGPU=lavapipe node bin/twosome.mjs gpu)"
