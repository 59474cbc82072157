/**
 * `twosome models list [--json] [--fit [--memory-gib N]]`: the catalog (the Llama-architecture records of the
 * installed web-llm's prebuiltAppConfig): id, download size (estimated from the architecture), web-llm's VRAM
 * figure, required WebGPU features, context window. --fit adds whether this machine's WebGPU adapter can run
 * each model (llm/fit-check.ts; --memory-gib sets the memory budget, else half the system memory on a
 * software adapter).
 *
 * `twosome models download ID|URL --out DIR [--parallel N]`: downloads an MLC model (a catalog id, a Hugging
 * Face repo URL, or any https / localhost model directory URL) into DIR with the same downloader as the app
 * (resume, retries, size and md5 checks). DIR then works as `--model DIR`. Files already in DIR are kept, so
 * running the command again continues an interrupted download. A progress line goes to stderr when it is a
 * terminal; Ctrl-C stops, keeping the completed files (exit code 130).
 */
import { existsSync, mkdirSync, readdirSync, statfsSync, statSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { availableParallelism, totalmem } from 'node:os';
import { requestNodeGpuContext } from '../gpu/node-gpu';
import {
  catalogBaseUrl,
  catalogConfig,
  estimateSizes,
  findCatalogRecord,
  resolveModelBaseUrl,
} from '../llm/model/catalog';
import { checkFit, precisionNote, type AdapterFacts } from '../llm/model/fit-check';
import { loadCatalog } from '../llm/model/webllm';
import {
  downloadModel,
  isAbortError,
  ModelDownloadError,
  type DownloadProgress,
  type ModelStore,
} from '../llm/model/download';
import { ModelFormatError } from '../llm/model/errors';
import { parseFlags, parseIntFlag, wantsHelp } from './args';
import { HelpRequest, UsageError } from './errors';
import { formatBytes } from '../util/format';
import { terminalSafe } from '../util/terminal-text';

const USAGE =
  'twosome models list [--json] [--fit [--memory-gib N]] | twosome models download ID|URL --out DIR [--parallel N]';

export async function modelsCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'list') return modelsList(rest);
  if (sub === 'download') return modelsDownload(rest);
  if (sub !== undefined && wantsHelp([sub])) {
    const more = '`twosome models list --help` and `twosome models download --help` list the options';
    throw new HelpRequest(`usage: ${LIST_USAGE}\n       ${DOWNLOAD_USAGE}\n\n${more}`);
  }
  throw new UsageError(`${sub ? `unknown subcommand "models ${sub}"; ` : ''}usage: ${USAGE}`);
}

const LIST_USAGE = 'twosome models list [--json] [--fit [--memory-gib N]]';
const DOWNLOAD_USAGE = 'twosome models download ID|URL --out DIR [--parallel N]';

/** The adapter Dawn gives this process, as the fit check sees it. */
async function nodeAdapterFacts(): Promise<{ facts: AdapterFacts; description: string }> {
  const ctx = await requestNodeGpuContext();
  const features = [ctx.features.shaderF16 && 'shader-f16', ctx.features.subgroups && 'subgroups'].filter(
    (f): f is string => typeof f === 'string',
  );
  const { maxStorageBufferBindingSize, maxBufferSize } = ctx.limits;
  const facts: AdapterFacts = {
    features,
    limits: { maxStorageBufferBindingSize, maxBufferSize },
    software: ctx.isSoftware,
    cores: availableParallelism(),
    systemMemoryBytes: totalmem(),
  };
  const { vendor, architecture, description: text } = ctx.adapterInfo;
  const description = [vendor, architecture, text].filter(Boolean).join(' · ') || 'WebGPU adapter';
  ctx.device.destroy();
  return { facts, description };
}

export async function modelsList(argv: string[]): Promise<number> {
  const flags = {
    json: { type: 'boolean', default: false, help: 'one JSON array of the models' },
    fit: { type: 'boolean', default: false, help: 'check whether each model can run on this machine, and why not' },
    'memory-gib': {
      type: 'string',
      arg: 'N',
      help: 'with --fit: the memory budget in GiB (default: what the fit check assumes)',
    },
  } as const;
  const { values } = parseFlags(argv, flags, LIST_USAGE);
  let memoryBudgetBytes: number | undefined;
  if (values['memory-gib'] !== undefined) {
    const gibs = Number(values['memory-gib']);
    if (!values.fit || !(gibs > 0)) {
      const given = String(values['memory-gib']);
      throw new UsageError(
        `--memory-gib: "${given}" must be a positive number of GiB, with --fit\nusage: ${LIST_USAGE}`,
      );
    }
    memoryBudgetBytes = gibs * 2 ** 30;
  }
  const adapter = values.fit ? await nodeAdapterFacts() : undefined;
  const rows = (await loadCatalog()).map((r) => {
    const config = catalogConfig(r);
    const fit = adapter ? checkFit(r, adapter.facts, { memoryBudgetBytes }) : undefined;
    return {
      id: r.id,
      model: r.model,
      baseUrl: catalogBaseUrl(r),
      quantization: r.quantization,
      downloadBytes: config ? estimateSizes(config).downloadBytes : null,
      vramRequiredMB: r.vramRequiredMB ?? null,
      lowResourceRequired: r.lowResourceRequired,
      requiredFeatures: r.requiredFeatures,
      contextWindow: r.contextWindow ?? null,
      architecture: config
        ? {
            layers: config.layers,
            hidden: config.hidden,
            intermediate: config.intermediate,
            heads: config.heads,
            kvHeads: config.kvHeads,
            headDim: config.headDim,
            vocabSize: config.vocabSize,
            tieEmbeddings: config.tieEmbeddings,
            ropeTheta: config.ropeTheta,
            ropeScaling: config.ropeScaling,
            rmsNormEps: config.rmsNormEps,
            bosTokenId: config.bosTokenId,
          }
        : null,
      unverified: r.arch?.unsure ?? null,
      ...(fit
        ? {
            fit: {
              canRun: fit.verdict,
              reason: fit.reason,
              neededBytes: fit.neededBytes ?? null,
              budgetBytes: fit.budget.bytes ?? null,
              stepSeconds: fit.stepSeconds ?? null,
              precision: fit.precision.path,
              notes: [fit.precision.text, ...fit.warnings],
            },
          }
        : {}),
    };
  });
  if (values.json) {
    const json = adapter ? { adapter: { description: adapter.description, ...adapter.facts }, models: rows } : rows;
    process.stdout.write(`${JSON.stringify(json)}\n`);
    return 0;
  }
  const width = Math.max(...rows.map((r) => r.id.length));
  const head = `${'id'.padEnd(width)}  ${'download'.padStart(10)}  ${'VRAM MB'.padStart(8)}  ${'context'.padStart(7)}  features`;
  const adapterLine = adapter && `adapter: ${adapter.description}${adapter.facts.software ? ' (software)' : ''}`;
  const lines = adapterLine ? [adapterLine, `${head.padEnd(width + 50)}  can run here`] : [head];
  for (const r of rows) {
    const size = r.downloadBytes === null ? '?' : `~${formatBytes(r.downloadBytes)}`;
    const vram = r.vramRequiredMB === null ? '?' : Math.ceil(r.vramRequiredMB).toString();
    const context = String(r.contextWindow ?? '?');
    const line = `${r.id.padEnd(width)}  ${size.padStart(10)}  ${vram.padStart(8)}  ${context.padStart(7)}  ${r.requiredFeatures.join(',') || '-'}`;
    lines.push(r.fit ? `${line.padEnd(width + 50)}  ${r.fit.canRun}${r.fit.reason ? `: ${r.fit.reason}` : ''}` : line);
  }
  lines.push(
    '',
    "download: weights estimated from the architecture; VRAM: web-llm's figure; features: what web-llm needs (this engine runs without shader-f16).",
  );
  if (adapter) {
    const precision = precisionNote(adapter.facts.features, undefined, adapter.facts.software);
    lines.push(`can run here: this engine's fit check (--json gives its notes); ${precision.text}.`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

/** A ModelStore writing the files of one model (URLs under `baseUrl`) into a directory, flat. */
export function directoryStore(dir: string, baseUrl: string): ModelStore {
  const root = resolve(dir);
  const pathOf = (url: string): string => {
    if (!url.startsWith(baseUrl)) throw new ModelFormatError(url, `is not under ${baseUrl}`);
    const path = resolve(root, decodeURIComponent(url.slice(baseUrl.length)));
    if (!path.startsWith(root + sep)) throw new ModelFormatError(url, `would be written outside ${root}`);
    return path;
  };
  return {
    has: async (url) => existsSync(pathOf(url)),
    get: async (url) => {
      try {
        return new Uint8Array(await readFile(pathOf(url)));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
    },
    put: async (url, bytes) => {
      const path = pathOf(url);
      mkdirSync(resolve(path, '..'), { recursive: true });
      await writeFile(`${path}.part`, bytes);
      await rename(`${path}.part`, path); // a file under its final name is always complete
    },
  };
}

function freeBytes(dir: string): number | undefined {
  try {
    const s = statfsSync(dir);
    return Number(s.bavail) * Number(s.bsize);
  } catch {
    return undefined;
  }
}

function bytesIn(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir)) {
    const s = statSync(join(dir, name));
    if (s.isFile() && !name.endsWith('.part')) total += s.size;
  }
  return total;
}

export async function modelsDownload(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    argv,
    {
      out: {
        type: 'string',
        arg: 'DIR',
        help: 'the directory to download into (required; files already there are kept)',
      },
      parallel: { type: 'string', arg: 'N', help: 'files fetched at once, 1 to 16 (default 4)' },
    },
    DOWNLOAD_USAGE,
    {
      positionals: 1,
      summary: 'ID|URL: a catalog id (`twosome models list`), a Hugging Face repo URL, or an MLC model URL',
    },
  );
  if (positionals.length !== 1)
    throw new UsageError(`give one model: a catalog id (\`twosome models list\`) or a URL\nusage: ${USAGE}`);
  if (!values.out) throw new UsageError(`--out DIR is required\nusage: ${USAGE}`);
  const parallel = parseIntFlag(values.parallel, 'parallel', 4, 1);
  if (parallel > 16) throw new UsageError(`--parallel: "${String(values.parallel)}" must be an integer from 1 to 16`);
  const what = positionals[0];
  const catalog = await loadCatalog();
  const baseUrl = resolveModelBaseUrl(what, catalog);
  const out = resolve(values.out);
  if (existsSync(out) && !statSync(out).isDirectory())
    throw new UsageError(`--out ${out}: exists and is not a directory`);
  mkdirSync(out, { recursive: true });

  const free = freeBytes(out);
  const maxBytes = free === undefined ? undefined : free + bytesIn(out);
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);

  const tty = Boolean(process.stderr.isTTY);
  const started = Date.now();
  let lastLine = 0;
  const onProgress = (p: DownloadProgress) => {
    if (!tty) return;
    const now = Date.now();
    if (now - lastLine < 200 && p.filesDone < p.filesTotal) return;
    lastLine = now;
    const pct = p.bytesTotal > 0 ? ((100 * p.bytesDone) / p.bytesTotal).toFixed(1) : '0.0';
    const rate = p.bytesDone / Math.max(0.001, (now - started) / 1000);
    const line = `${pct.padStart(5)}%  ${formatBytes(p.bytesDone)} / ${formatBytes(p.bytesTotal)}  ${p.filesDone}/${p.filesTotal} files  ${formatBytes(rate)}/s`;
    process.stderr.write(`\r${line.padEnd(72)}`);
  };

  try {
    const result = await downloadModel(baseUrl, {
      store: directoryStore(out, baseUrl),
      parallel,
      signal: controller.signal,
      onProgress,
      maxBytes,
      progressIntervalMs: 200,
    });
    if (tty) process.stderr.write('\n');
    const label = findCatalogRecord(catalog, what) ? what : baseUrl;
    const fetched = result.files.length - result.filesFromStore;
    process.stdout.write(
      terminalSafe(
        `downloaded ${label} to ${out}: ${result.files.length} files, ${formatBytes(result.bytesTotal)} ` +
          `(${fetched} fetched, ${result.filesFromStore} already there); use it with --model ${out}`,
      ) + '\n',
    );
    return 0;
  } catch (error) {
    if (tty) process.stderr.write('\n');
    if (controller.signal.aborted && isAbortError(error)) {
      process.stderr.write(
        `twosome: download cancelled; completed files are kept in ${out}; run the same command to continue\n`,
      );
      return 130;
    }
    if (error instanceof ModelDownloadError) throw new UsageError(error.message);
    throw error;
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}
