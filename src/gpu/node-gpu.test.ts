// Which Vulkan driver Dawn in Node gets (TWOSOME_WEBGPU), where lavapipe's manifest is looked for (the rule
// scripts/setup-lavapipe.sh installs by), and the one-line errors when the asked-for driver is missing.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WebGpuUnavailableError } from './device';
import { configureVulkanEnvironment, dawnToggles, lavapipeDir, lavapipeIcdPath, webgpuChoice } from './node-gpu';

const work = mkdtempSync(join(tmpdir(), 'twosome-node-gpu-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const runtime = join(work, 'xdg-runtime');
mkdirSync(runtime, { mode: 0o700 });

describe('TWOSOME_WEBGPU', () => {
  it('defaults to SwiftShader on Linux without a GPU device, else to the system drivers', () => {
    if (process.platform === 'linux') expect(webgpuChoice({}, () => false)).toBe('swiftshader');
    expect(webgpuChoice({}, () => true)).toBe('system');
  });

  it('takes lavapipe, swiftshader and system, whatever the case', () => {
    expect(webgpuChoice({ TWOSOME_WEBGPU: 'lavapipe' }, () => true)).toBe('lavapipe');
    expect(webgpuChoice({ TWOSOME_WEBGPU: 'SwiftShader' }, () => true)).toBe('swiftshader');
    expect(webgpuChoice({ TWOSOME_WEBGPU: 'system' }, () => false)).toBe('system');
  });

  it('rejects anything else in one line that lists the choices', () => {
    expect(() => webgpuChoice({ TWOSOME_WEBGPU: 'vulkan' })).toThrow(WebGpuUnavailableError);
    expect(() => webgpuChoice({ TWOSOME_WEBGPU: 'vulkan' })).toThrow(
      'TWOSOME_WEBGPU=vulkan: use lavapipe, swiftshader, system or leave it unset',
    );
  });
});

describe('Dawn toggles', () => {
  it("zero-initialize workgroup memory in the shader on SwiftShader (its driver's way compiles slowly)", () => {
    const toggle = 'disable-dawn-features=use_vulkan_zero_initialize_workgroup_memory_extension';
    expect(dawnToggles('swiftshader')).toEqual([toggle]);
    expect(dawnToggles('lavapipe')).toEqual([]);
    expect(dawnToggles('system')).toEqual([]);
  });
});

describe('lavapipe', () => {
  it('is looked for where the setup script installs it', () => {
    expect(lavapipeDir({ HOME: '/home/me', XDG_CACHE_HOME: '/cache' })).toBe('/cache/twosome-web/lavapipe');
    expect(lavapipeDir({ XDG_CACHE_HOME: '/cache', TWOSOME_LAVAPIPE_DIR: '/opt/lvp' })).toBe('/opt/lvp');
    expect(lavapipeIcdPath({ TWOSOME_LAVAPIPE_DIR: '/opt/lvp' })).toBe('/opt/lvp/lvp_icd.json');
    const named = { TWOSOME_LAVAPIPE_DIR: '/opt/lvp', TWOSOME_LAVAPIPE_ICD: '/m/lvp.json' };
    expect(lavapipeIcdPath(named)).toBe('/m/lvp.json');
  });

  it('when missing, is an error that says to run the setup script', () => {
    const env = { TWOSOME_WEBGPU: 'lavapipe', TWOSOME_LAVAPIPE_DIR: join(work, 'none'), XDG_RUNTIME_DIR: runtime };
    expect(() => configureVulkanEnvironment(env)).toThrow(WebGpuUnavailableError);
    expect(() => configureVulkanEnvironment(env)).toThrow(
      `TWOSOME_WEBGPU=lavapipe, but lavapipe is not installed (no ${join(work, 'none', 'lvp_icd.json')}): run ` +
        'bash scripts/setup-lavapipe.sh',
    );
  });

  it('is the only driver the loader is given, even where another was named', () => {
    const dir = join(work, 'lvp');
    mkdirSync(dir);
    writeFileSync(join(dir, 'lvp_icd.json'), '{}');
    const env: NodeJS.ProcessEnv = {
      TWOSOME_WEBGPU: 'lavapipe',
      TWOSOME_LAVAPIPE_DIR: dir,
      VK_ICD_FILENAMES: '/usr/lib/chromium/vk_swiftshader_icd.json',
      XDG_RUNTIME_DIR: runtime,
    };
    expect(configureVulkanEnvironment(env)).toBe('lavapipe');
    expect(env.VK_ICD_FILENAMES).toBe(join(dir, 'lvp_icd.json'));
    expect(env.VK_DRIVER_FILES).toBe(join(dir, 'lvp_icd.json'));
  });
});

describe('SwiftShader', () => {
  it('keeps a driver the environment already names, as before', () => {
    const env: NodeJS.ProcessEnv = {
      TWOSOME_WEBGPU: 'swiftshader',
      VK_ICD_FILENAMES: '/my/icd.json',
      XDG_RUNTIME_DIR: runtime,
    };
    expect(configureVulkanEnvironment(env)).toBe('swiftshader');
    expect(env.VK_ICD_FILENAMES).toBe('/my/icd.json');
  });
});
