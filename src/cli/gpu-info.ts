/** `twosome gpu`: which WebGPU adapter Dawn gives on this machine, its features and limits. */
import { requestNodeGpuContext } from '../gpu/node-gpu';
import { parseFlags } from './args';

export async function gpuInfo(argv: string[]): Promise<number> {
  const json = { type: 'boolean', default: false, help: 'one JSON object' } as const;
  const { values } = parseFlags(argv, { json }, 'twosome gpu [--json]');
  const ctx = await requestNodeGpuContext();
  const summary = {
    adapter: ctx.adapterInfo,
    kind: ctx.adapterKind,
    software: ctx.isSoftware,
    features: ctx.features,
    subgroupSizes: ctx.subgroupSizes,
    useSubgroups: ctx.useSubgroups,
    limits: ctx.limits,
  };
  ctx.device.destroy();
  process.stdout.write(values.json ? `${JSON.stringify(summary)}\n` : `${JSON.stringify(summary, null, 2)}\n`);
  return 0;
}
