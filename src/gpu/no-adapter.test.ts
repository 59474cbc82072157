// Dawn in Node with no adapter: the message names what is missing on this machine (the Vulkan loader, any
// driver, a manifest an environment variable names, or drivers Dawn would not take) and how to check, instead
// of the browser's advice (hardware acceleration, chrome://flags). Machines are given as file lists.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeNoAdapterMessage, probeVulkan, type ProbeFs } from './no-adapter';

/** A file system that has exactly these files (directories are implied by the paths). */
function machine(files: string[]): ProbeFs {
  const parents = (file: string) => {
    const parts = file.split('/').slice(1, -1);
    return parts.map((_, i) => `/${parts.slice(0, i + 1).join('/')}`);
  };
  const dirs = new Set(files.flatMap(parents));
  const inDir = (dir: string) => files.filter((f) => f.startsWith(`${dir}/`) && !f.slice(dir.length + 1).includes('/'));
  return {
    isFile: (path) => files.includes(path),
    isDirectory: (path) => dirs.has(path),
    list: (dir) => inDir(dir).map((f) => f.slice(dir.length + 1)),
  };
}

const LOADER = '/usr/lib/x86_64-linux-gnu/libvulkan.so.1';
const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json';
const env = { HOME: '/home/me' };
const message = (files: string[], extraEnv: NodeJS.ProcessEnv = {}, platform: NodeJS.Platform = 'linux') =>
  nodeNoAdapterMessage(probeVulkan({ ...env, ...extraEnv }, machine(files), platform));

describe('the message when Dawn in Node finds no adapter', () => {
  it('names the Vulkan loader and its Debian package when libvulkan.so.1 is missing', () => {
    const text = message([SWIFTSHADER], { VK_ICD_FILENAMES: SWIFTSHADER });
    expect(text).toMatch(/Vulkan loader libvulkan\.so\.1.*not installed/);
    expect(text).toContain('apt-get install libvulkan1');
    expect(text).toContain('`twosome gpu`');
    expect(text).not.toMatch(/chrome:\/\/|hardware acceleration/);
  });

  it('finds the loader on LD_LIBRARY_PATH too', () => {
    const text = message(['/opt/vk/libvulkan.so.1'], { LD_LIBRARY_PATH: '/opt/vk' });
    expect(text).not.toContain('libvulkan1');
    expect(text).toMatch(/has no driver/);
  });

  it('says there is no driver, and which ones to install, when no ICD manifest exists', () => {
    const text = message([LOADER]);
    expect(text).toMatch(/loader is installed but has no driver/);
    expect(text).toContain('/usr/share/vulkan/icd.d');
    expect(text).toMatch(/GPU's Vulkan driver/);
    expect(text).toContain("Debian's chromium package (SwiftShader");
    expect(text).toContain('bash scripts/setup-lavapipe.sh');
    expect(text).toContain('`twosome gpu`');
  });

  it('names the variable and the file when VK_ICD_FILENAMES or VK_DRIVER_FILES points at nothing', () => {
    expect(message([LOADER, SWIFTSHADER], { VK_ICD_FILENAMES: '/nope.json' })).toMatch(
      /VK_ICD_FILENAMES names \/nope\.json, which does not exist: correct or unset VK_ICD_FILENAMES/,
    );
    // The loader reads VK_DRIVER_FILES before VK_ICD_FILENAMES.
    expect(message([LOADER, SWIFTSHADER], { VK_DRIVER_FILES: '/gone.json', VK_ICD_FILENAMES: SWIFTSHADER })).toMatch(
      /VK_DRIVER_FILES names \/gone\.json/,
    );
  });

  it('lists the drivers Dawn did not take when manifests exist', () => {
    const icd = '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json';
    const text = message([LOADER, icd]);
    expect(text).toContain(`Dawn took none of the Vulkan drivers found (${icd})`);
    expect(text).toContain('VK_LOADER_DEBUG=error,warn twosome gpu');
    // A directory named in the variable counts its manifests.
    expect(message([LOADER, '/icds/a.json'], { VK_ICD_FILENAMES: '/icds' })).toContain('(/icds/a.json)');
  });

  it("reads the loader's search directories, XDG ones included", () => {
    const icd = '/home/me/.local/share/vulkan/icd.d/my.json';
    expect(message([LOADER, icd])).toContain(`(${icd})`);
    const xdg = '/xdg/vulkan/icd.d/x.json';
    expect(message([LOADER, xdg], { XDG_DATA_DIRS: '/xdg' })).toContain(`(${xdg})`);
  });

  it('tells macOS and Windows users to update the GPU driver, without Vulkan advice', () => {
    const text = message([], {}, 'darwin');
    expect(text).toMatch(/update the GPU driver/);
    expect(text).toContain('`twosome gpu`');
    expect(text).not.toContain('libvulkan');
  });
});

describe('`twosome gpu` with no Vulkan driver', () => {
  // The whole path, from Dawn's null adapter to the CLI's one-line error; before, this printed the browser's
  // "enable hardware acceleration ... chrome://flags" advice.
  it.runIf(process.platform === 'linux')('prints what is missing in one line and exits 2', () => {
    const proc = spawnSync(process.execPath, [resolve('bin/twosome.mjs'), 'gpu'], {
      encoding: 'utf8',
      env: {
        ...process.env,
        TWOSOME_WEBGPU: 'system',
        VK_ICD_FILENAMES: '/nonexistent/icd.json',
        VK_DRIVER_FILES: '',
      },
      timeout: 60_000,
    });
    expect(proc.status).toBe(2);
    const line = proc.stderr.split('\n').find((l) => l.startsWith('twosome: '));
    expect(line).toContain('No WebGPU adapter: VK_ICD_FILENAMES names /nonexistent/icd.json, which does not exist');
    expect(line).toContain('`twosome gpu`');
    expect(proc.stderr).not.toContain('chrome://');
  });
});
