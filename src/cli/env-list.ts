/** `twosome env list`: the task registry, as a table or JSON lines. */
import { TASKS } from '../envs/registry';
import { parseFlags } from './args';

export async function envList(argv: string[]): Promise<number> {
  const json = { type: 'boolean', default: false, help: 'one JSON object per task' } as const;
  const { values } = parseFlags(argv, { json }, 'twosome env list [--json]');
  if (values.json) {
    for (const t of TASKS) process.stdout.write(`${JSON.stringify(t)}\n`);
    return 0;
  }
  const rows = TASKS.map((t) => [
    t.id,
    t.title,
    t.split,
    String(t.actionCount),
    String(t.horizon),
    t.optimalReturn.toFixed(4),
  ]);
  const header = ['id', 'title', 'split', 'actions', 'horizon', 'optimal'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const row of [header, ...rows]) process.stdout.write(`${row.map((c, i) => c.padEnd(widths[i])).join('  ')}\n`);
  return 0;
}
