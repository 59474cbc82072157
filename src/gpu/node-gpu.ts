/**
 * WebGPU in Node through Dawn (the `webgpu` npm package), for the CLI and the GPU tests.
 *
 * On a machine without a GPU we point the Vulkan loader at SwiftShader, the CPU Vulkan driver that Debian's
 * chromium package ships; on a machine with a GPU we leave the loader alone so Dawn picks the real one.
 * The choice can be forced with TWOSOME_WEBGPU=swiftshader|system.
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

export async function requestNodeGpuContext(options?: RequestDeviceOptions): Promise<GpuContext> {
  return requestGpuContext(await nodeGpu(), options);
}
