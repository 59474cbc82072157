/**
 * Which adapter a GPU test runs on. `npm test` runs every GPU test file twice (scripts/test.mjs): on lavapipe
 * (TWOSOME_WEBGPU=lavapipe: `shader-f16`, subgroup size 8) and on SwiftShader (TWOSOME_WEBGPU=swiftshader: no
 * f16, subgroup size 4). A test of one kernel path asks here whether the device has what that path needs, so
 * that it fails where the adapter ought to have it and skips, saying why, where the adapter cannot.
 */
import type { GpuContext } from './device';

export type StageAdapter = 'lavapipe' | 'swiftshader';

/** The CPU adapter the test stage asked for (TWOSOME_WEBGPU), or null: the machine's default, or 'system'. */
export function stageAdapter(env: NodeJS.ProcessEnv = process.env): StageAdapter | null {
  const value = env.TWOSOME_WEBGPU?.trim().toLowerCase();
  return value === 'lavapipe' || value === 'swiftshader' ? value : null;
}

/** The adapter in a few words, for skip reasons and failures. */
export function describeAdapter(ctx: Pick<GpuContext, 'adapterKind' | 'adapterInfo'>): string {
  const name = { lavapipe: 'lavapipe', swiftshader: 'SwiftShader', other: 'this adapter' }[ctx.adapterKind];
  const detail = ctx.adapterInfo.description || ctx.adapterInfo.device || ctx.adapterInfo.vendor;
  return detail ? `${name} (${detail})` : name;
}

/** The part of vitest's test context used here (its `skip` throws, so nothing after it runs). */
export interface SkippableTest {
  skip(note?: string): never;
}

/**
 * Call first in a test of an f16 kernel. Returns where the device has `shader-f16`. Throws where it ought to
 * (the adapter is lavapipe, or the stage asked for lavapipe and got another adapter): that means the stage fell
 * back to another driver or the feature was turned off, and the f16 path would go untested. Elsewhere the test
 * is skipped with the reason, which the reporter shows.
 */
export function requireShaderF16(
  ctx: Pick<GpuContext, 'adapterKind' | 'adapterInfo' | 'features'>,
  test: SkippableTest,
  env: NodeJS.ProcessEnv = process.env,
): void {
  if (ctx.features.shaderF16) return;
  if (ctx.adapterKind === 'lavapipe' || stageAdapter(env) === 'lavapipe') {
    throw new Error(
      `the device on ${describeAdapter(ctx)} has no shader-f16, though the lavapipe stage needs it: check ` +
        '`TWOSOME_WEBGPU=lavapipe twosome gpu` and rerun bash scripts/setup-lavapipe.sh',
    );
  }
  test.skip(`needs shader-f16, which ${describeAdapter(ctx)} lacks (the lavapipe stage runs it)`);
}

/**
 * A child process's stderr without the two notices Dawn itself prints on lavapipe, whose driver reports a million
 * dynamic buffers per pipeline layout ("Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced
 * from 1000000 to 16 ..."): Dawn writes them from native code as it lists the adapter, before any of ours runs.
 * Everything else stays, so a test of the CLI's own stderr keeps its meaning on every adapter.
 */
export function withoutDawnLimitNotices(stderr: string): string {
  const notice = /^Warning: maxDynamic\w+PerPipelineLayout artificially reduced from \d+ to \d+[^\n]*\n?/gm;
  return stderr.replace(notice, '');
}
