/**
 * WebGPU in Node through Dawn (the `webgpu` npm package), for the CLI and the GPU tests.
 *
 * On a machine without a GPU we point the Vulkan loader at SwiftShader, the CPU Vulkan driver that Debian's
 * chromium package ships; on a machine with a GPU we leave the loader alone so Dawn picks the real one.
 * The choice can be forced with TWOSOME_WEBGPU=swiftshader|system.
 *
 * TWOSOME_SUBGROUPS=0 (or off, false, no) leaves the `subgroups` feature unrequested, so every kernel takes
 * its f32 workgroup path; TWOSOME_SUBGROUPS=1 (or on, true, yes) makes the engine take the subgroup kernels
 * on a software adapter too (by default only a hardware GPU does: GpuContext.useSubgroups).
 */
import { existsSync, mkdirSync, readdirSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requestGpuContext, type GpuContext, type RequestDeviceOptions } from './device';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

function hasHardwareGpu(): boolean {
  if (existsSync('/dev/nvidia0')) return true;
  try {
    return readdirSync('/dev/dri').some((name) => name.startsWith('renderD'));
  } catch {
    return false;
  }
}

/** Sets the environment Dawn's Vulkan backend reads; must run before the first `create()`. */
export function configureVulkanEnvironment(env: NodeJS.ProcessEnv = process.env): 'swiftshader' | 'system' {
  const forced = env.TWOSOME_WEBGPU;
  const useSwiftShader = forced ? forced === 'swiftshader' : !hasHardwareGpu() && process.platform === 'linux';
  if (useSwiftShader) {
    if (!env.VK_ICD_FILENAMES) {
      if (!existsSync(SWIFTSHADER_ICD)) {
        throw new Error(
          `no GPU found and SwiftShader is missing (${SWIFTSHADER_ICD}): install Debian's chromium package (apt-get install chromium) or run on a machine with a GPU`,
        );
      }
      env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
    }
  }
  if (!env.XDG_RUNTIME_DIR || !existsSync(env.XDG_RUNTIME_DIR)) {
    const dir = join(tmpdir(), `twosome-xdg-${process.getuid?.() ?? 0}`);
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o700);
    env.XDG_RUNTIME_DIR = dir;
  }
  return useSwiftShader ? 'swiftshader' : 'system';
}

let gpuPromise: Promise<GPU> | null = null;

/** The process-wide Dawn `GPU` object (navigator.gpu's equivalent). */
export function nodeGpu(): Promise<GPU> {
  gpuPromise ??= (async () => {
    configureVulkanEnvironment();
    const { create, globals } = await import('webgpu');
    Object.assign(globalThis, globals);
    return create([]) as unknown as GPU;
  })();
  return gpuPromise;
}

/** What TWOSOME_SUBGROUPS asks for: 'off' (0, off, false, no), 'on' (1, on, true, yes), or null (unset: defaults). */
export function subgroupsSetting(env: NodeJS.ProcessEnv = process.env): 'on' | 'off' | null {
  const value = env.TWOSOME_SUBGROUPS?.trim().toLowerCase() ?? '';
  if (['0', 'off', 'false', 'no'].includes(value)) return 'off';
  if (['1', 'on', 'true', 'yes'].includes(value)) return 'on';
  if (value !== '') throw new Error(`TWOSOME_SUBGROUPS=${env.TWOSOME_SUBGROUPS}: use 0 (off) or 1 (on), or leave it unset`);
  return null;
}

export async function requestNodeGpuContext(options: RequestDeviceOptions = {}): Promise<GpuContext> {
  const setting = subgroupsSetting();
  const disableFeatures = { ...options.disableFeatures };
  if (disableFeatures.subgroups === undefined && setting === 'off') disableFeatures.subgroups = true;
  const useSubgroups = options.useSubgroups ?? (setting === 'on' ? true : undefined);
  return requestGpuContext(await nodeGpu(), { ...options, disableFeatures, useSubgroups });
}
