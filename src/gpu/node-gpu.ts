/**
 * WebGPU in Node through Dawn (the `webgpu` npm package), for the CLI and the GPU tests.
 *
 * On a machine without a GPU we point the Vulkan loader at SwiftShader, the CPU Vulkan driver that Debian's
 * chromium package ships; on a machine with a GPU we leave the loader alone so Dawn picks the real one.
 * TWOSOME_WEBGPU forces the choice:
 *   swiftshader  SwiftShader (no `shader-f16`, subgroup size 4): what Chromium uses here, so the e2e tests too;
 *   lavapipe     Mesa 25's lavapipe (adapter "llvmpipe": `shader-f16`, subgroup size 8), installed by
 *                scripts/setup-lavapipe.sh into lavapipeDir(); Debian 12's own Mesa 22 is too old for Dawn;
 *   system       whatever the Vulkan loader finds (VK_ICD_FILENAMES, or the installed drivers).
 *
 * TWOSOME_SUBGROUPS=0 (or off, false, no) leaves the `subgroups` feature unrequested, so every kernel takes
 * its f32 workgroup path; TWOSOME_SUBGROUPS=1 (or on, true, yes) makes the engine take the subgroup kernels
 * on a software adapter too (by default only a hardware GPU does: GpuContext.useSubgroups).
 */
import { existsSync, mkdirSync, readdirSync, chmodSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { requestGpuContext, WebGpuUnavailableError, type GpuContext, type RequestDeviceOptions } from './device';
import { nodeNoAdapterMessage, probeVulkan } from './no-adapter';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const WEBGPU_CHOICES = ['lavapipe', 'swiftshader', 'system'] as const;
export type NodeWebGpuChoice = (typeof WEBGPU_CHOICES)[number];

function hasHardwareGpu(): boolean {
  if (existsSync('/dev/nvidia0')) return true;
  try {
    return readdirSync('/dev/dri').some((name) => name.startsWith('renderD'));
  } catch {
    return false;
  }
}

/**
 * Where scripts/setup-lavapipe.sh installs lavapipe (the script follows the same rule): TWOSOME_LAVAPIPE_DIR,
 * else the user's cache directory, so that one install serves every checkout and the bundled CLI alike.
 */
export function lavapipeDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TWOSOME_LAVAPIPE_DIR) return env.TWOSOME_LAVAPIPE_DIR;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'twosome-web', 'lavapipe');
}

/** The lavapipe ICD file: TWOSOME_LAVAPIPE_ICD (e.g. a distribution's Mesa 24+), else the script's. */
export function lavapipeIcdPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.TWOSOME_LAVAPIPE_ICD || join(lavapipeDir(env), 'lvp_icd.json');
}

/** What TWOSOME_WEBGPU asks for; unset: SwiftShader on Linux without a GPU device node, else the system's. */
export function webgpuChoice(env: NodeJS.ProcessEnv = process.env, hardwareGpu = hasHardwareGpu): NodeWebGpuChoice {
  const value = env.TWOSOME_WEBGPU?.trim().toLowerCase() ?? '';
  if (value === '') return !hardwareGpu() && process.platform === 'linux' ? 'swiftshader' : 'system';
  const choice = WEBGPU_CHOICES.find((c) => c === value);
  if (!choice) {
    throw new WebGpuUnavailableError(
      `TWOSOME_WEBGPU=${env.TWOSOME_WEBGPU}: use ${WEBGPU_CHOICES.join(', ')} or leave it unset`,
    );
  }
  return choice;
}

/** Sets the environment Dawn's Vulkan backend reads; must run before the first `create()`. */
export function configureVulkanEnvironment(env: NodeJS.ProcessEnv = process.env): NodeWebGpuChoice {
  const choice = webgpuChoice(env);
  if (choice === 'swiftshader' && !env.VK_ICD_FILENAMES) {
    if (!existsSync(SWIFTSHADER_ICD)) {
      throw new WebGpuUnavailableError(
        `SwiftShader is missing (${SWIFTSHADER_ICD}): install Debian's chromium package (apt-get install ` +
          'chromium), or use lavapipe (bash scripts/setup-lavapipe.sh, then TWOSOME_WEBGPU=lavapipe), or run ' +
          'on a machine with a GPU',
      );
    }
    env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  }
  if (choice === 'lavapipe') {
    const icd = lavapipeIcdPath(env);
    if (!existsSync(icd)) {
      throw new WebGpuUnavailableError(
        `TWOSOME_WEBGPU=lavapipe, but lavapipe is not installed (no ${icd}): run bash scripts/setup-lavapipe.sh ` +
          '(Debian 12), or use TWOSOME_WEBGPU=swiftshader',
      );
    }
    // Only this driver, whatever the environment listed: with SwiftShader listed too, Dawn would take it.
    // VK_DRIVER_FILES is the loader's newer name, and wins where both are set.
    env.VK_ICD_FILENAMES = icd;
    env.VK_DRIVER_FILES = icd;
  }
  if (!env.XDG_RUNTIME_DIR || !existsSync(env.XDG_RUNTIME_DIR)) {
    const dir = join(tmpdir(), `twosome-xdg-${process.getuid?.() ?? 0}`);
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o700);
    env.XDG_RUNTIME_DIR = dir;
  }
  return choice;
}

let gpuPromise: Promise<GPU> | null = null;

/**
 * Dawn toggles per driver. SwiftShader: WGSL zero-initializes workgroup memory, and SwiftShader's own way of doing
 * it (VK_KHR_zero_initialize_workgroup_memory, which Dawn uses where a driver has it) makes a pipeline's compile
 * time grow with the workgroup memory its shader declares: 9 s for a flash attention kernel's 16 KiB of tiles.
 * Dawn's alternative, zeroing it in the shader itself, is as correct and compiles in 0.3 s.
 */
export function dawnToggles(choice: NodeWebGpuChoice): string[] {
  if (choice !== 'swiftshader') return [];
  return ['disable-dawn-features=use_vulkan_zero_initialize_workgroup_memory_extension'];
}

/** The process-wide Dawn `GPU` object (navigator.gpu's equivalent). */
export function nodeGpu(): Promise<GPU> {
  gpuPromise ??= (async () => {
    const choice = configureVulkanEnvironment();
    const { create, globals } = await import('webgpu');
    Object.assign(globalThis, globals);
    return create(dawnToggles(choice)) as unknown as GPU;
  })();
  return gpuPromise;
}

/** What TWOSOME_SUBGROUPS asks for: 'off' (0, off, false, no), 'on' (1, on, true, yes), or null (unset: defaults). */
export function subgroupsSetting(env: NodeJS.ProcessEnv = process.env): 'on' | 'off' | null {
  const value = env.TWOSOME_SUBGROUPS?.trim().toLowerCase() ?? '';
  if (['0', 'off', 'false', 'no'].includes(value)) return 'off';
  if (['1', 'on', 'true', 'yes'].includes(value)) return 'on';
  if (value !== '')
    throw new Error(`TWOSOME_SUBGROUPS=${env.TWOSOME_SUBGROUPS}: use 0 (off) or 1 (on), or leave it unset`);
  return null;
}

export async function requestNodeGpuContext(options: RequestDeviceOptions = {}): Promise<GpuContext> {
  const setting = subgroupsSetting();
  const disableFeatures = { ...options.disableFeatures };
  if (disableFeatures.subgroups === undefined && setting === 'off') disableFeatures.subgroups = true;
  const useSubgroups = options.useSubgroups ?? (setting === 'on' ? true : undefined);
  try {
    return await requestGpuContext(await nodeGpu(), { ...options, disableFeatures, useSubgroups });
  } catch (error) {
    // The browser's advice (hardware acceleration, chrome://flags) means nothing here: say what Node lacks.
    if (error instanceof WebGpuUnavailableError && error.reason === 'no-adapter') {
      throw new WebGpuUnavailableError(nodeNoAdapterMessage(probeVulkan(process.env)), 'no-adapter');
    }
    throw error;
  }
}
