/**
 * Why Dawn in Node found no WebGPU adapter, in words a user can act on.
 *
 * On Linux Dawn reaches the GPU through Vulkan: it opens the Vulkan loader (libvulkan.so.1), and the loader
 * opens the drivers its ICD manifests name (a GPU's driver, or a CPU one: Chromium's SwiftShader, Mesa's
 * lavapipe). Dawn only says "no adapter", so we look at what is installed and name the missing piece: the
 * loader, any driver at all, a manifest that an environment variable names but that does not exist, or drivers
 * that are there but that Dawn would not take. Elsewhere (Metal, D3D12) there is only the GPU driver to update.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** What the machine has for Vulkan, as far as the files show. */
export interface VulkanProbe {
  platform: NodeJS.Platform;
  /** Where libvulkan.so.1 is, or null where none of loaderDirs has it. */
  loader: string | null;
  loaderDirs: string[];
  /** The variable that names the drivers (VK_DRIVER_FILES wins over VK_ICD_FILENAMES), where one is set. */
  icdVariable: { name: string; missing: string[] } | null;
  /** The driver manifests found: those the variable names, or else those in icdDirs. */
  icdFiles: string[];
  icdDirs: string[];
}

/** The file system as the probe sees it, so that tests can give it any machine. */
export interface ProbeFs {
  isFile(path: string): boolean;
  isDirectory(path: string): boolean;
  list(dir: string): string[];
}

const realFs: ProbeFs = {
  isFile: (path) => existsSync(path) && statSync(path).isFile(),
  isDirectory: (path) => existsSync(path) && statSync(path).isDirectory(),
  list: (dir) => {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  },
};

const SYSTEM_LIBRARY_DIRS = [
  '/lib/x86_64-linux-gnu',
  '/usr/lib/x86_64-linux-gnu',
  '/lib/aarch64-linux-gnu',
  '/usr/lib/aarch64-linux-gnu',
  '/lib64',
  '/usr/lib64',
  '/lib',
  '/usr/lib',
  '/usr/local/lib',
];

const paths = (value: string | undefined) => (value ?? '').split(':').filter((p) => p !== '');

/** The directories the Vulkan loader reads ICD manifests from on Linux, in its order (its architecture doc). */
function icdSearchDirs(env: NodeJS.ProcessEnv): string[] {
  const home = env.HOME || homedir();
  const orDefault = (value: string | undefined, fallback: string[]) => (paths(value).length ? paths(value) : fallback);
  const configDirs = [env.XDG_CONFIG_HOME || join(home, '.config'), ...orDefault(env.XDG_CONFIG_DIRS, ['/etc/xdg'])];
  const dataDirs = [
    env.XDG_DATA_HOME || join(home, '.local/share'),
    ...orDefault(env.XDG_DATA_DIRS, ['/usr/local/share', '/usr/share']),
  ];
  return [
    ...configDirs.map((d) => join(d, 'vulkan/icd.d')),
    '/usr/local/etc/vulkan/icd.d',
    '/etc/vulkan/icd.d',
    ...dataDirs.map((d) => join(d, 'vulkan/icd.d')),
  ];
}

export function probeVulkan(env: NodeJS.ProcessEnv, fs: ProbeFs = realFs, platform = process.platform): VulkanProbe {
  const loaderDirs = [...paths(env.LD_LIBRARY_PATH), ...SYSTEM_LIBRARY_DIRS];
  const loader = loaderDirs.map((d) => join(d, 'libvulkan.so.1')).find((p) => fs.isFile(p)) ?? null;
  const manifestsIn = (dir: string) =>
    fs
      .list(dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => join(dir, f));

  const variable = ['VK_DRIVER_FILES', 'VK_ICD_FILENAMES'].find((name) => paths(env[name]).length > 0);
  const icdDirs = variable ? [] : icdSearchDirs(env);
  let icdVariable: VulkanProbe['icdVariable'] = null;
  let icdFiles: string[];
  if (variable) {
    const named = paths(env[variable]);
    icdFiles = named.flatMap((p) => (fs.isDirectory(p) ? manifestsIn(p) : fs.isFile(p) ? [p] : []));
    icdVariable = { name: variable, missing: named.filter((p) => !fs.isFile(p) && !fs.isDirectory(p)) };
  } else {
    icdFiles = icdDirs.flatMap(manifestsIn);
  }
  return { platform, loader, loaderDirs, icdVariable, icdFiles, icdDirs };
}

const CHECK = 'check with `twosome gpu`';
const CPU_DRIVERS =
  "a CPU one: Debian's chromium package (SwiftShader; TWOSOME_WEBGPU=swiftshader) or Mesa 25's lavapipe " +
  '(bash scripts/setup-lavapipe.sh, then TWOSOME_WEBGPU=lavapipe)';

/** One line that says what is missing and what to do, for the case Dawn gave no adapter. */
export function nodeNoAdapterMessage(probe: VulkanProbe): string {
  if (probe.platform !== 'linux') {
    return (
      'No WebGPU adapter: Dawn found no GPU it can use (Metal on macOS, D3D12 or Vulkan on Windows): update the ' +
      `GPU driver, then ${CHECK}`
    );
  }
  if (!probe.loader) {
    return (
      'No WebGPU adapter: the Vulkan loader libvulkan.so.1, which Dawn needs on Linux, is not installed (not in ' +
      `${probe.loaderDirs.join(', ')}): install it (Debian/Ubuntu: apt-get install libvulkan1), then ${CHECK}`
    );
  }
  if (probe.icdVariable && probe.icdVariable.missing.length > 0) {
    const { name, missing } = probe.icdVariable;
    return (
      `No WebGPU adapter: ${name} names ${missing.join(', ')}, which does not exist: correct or unset ${name}, ` +
      `then ${CHECK}`
    );
  }
  if (probe.icdFiles.length === 0) {
    // The loader reads seven directories; the two that packages install into say enough.
    const where = probe.icdVariable
      ? `in ${probe.icdVariable.name}`
      : 'in /usr/share/vulkan/icd.d, /etc/vulkan/icd.d or the other directories the loader reads';
    return (
      `No WebGPU adapter: the Vulkan loader is installed but has no driver (no ICD manifest ${where}): install ` +
      `your GPU's Vulkan driver, or ${CPU_DRIVERS}; then ${CHECK}`
    );
  }
  return (
    `No WebGPU adapter: Dawn took none of the Vulkan drivers found (${probe.icdFiles.join(', ')}): a driver may ` +
    "be too old for Dawn (Debian 12's own lavapipe, Mesa 22, is) or miss a library. Update it, or use " +
    `${CPU_DRIVERS}; VK_LOADER_DEBUG=error,warn twosome gpu shows the loader's reasons`
  );
}
