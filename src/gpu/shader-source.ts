/**
 * WGSL sources from `shaders/`, the same files in the browser and in Node.
 *
 * Under Vite (the app, vitest) the files are bundled as strings by import.meta.glob; under plain Node (the
 * CLI through tsx) they are read from disk next to the sources. Either way a kernel is named by its file.
 */

type GlobResult = Record<string, string>;

let cache: Map<string, string> | null = null;

function bundledShaders(): GlobResult | null {
  // Vite replaces the import.meta.glob call below at build time (the function itself never exists at run
  // time) and defines import.meta.env; under plain Node (tsx) there is no import.meta.env, so read the disk.
  if (!(import.meta as ImportMeta & { env?: unknown }).env) return null;
  return import.meta.glob('../../shaders/**/*.wgsl', { query: '?raw', import: 'default', eager: true }) as GlobResult;
}

async function loadAll(): Promise<Map<string, string>> {
  const map = new Map<string, string>();
  const bundled = bundledShaders();
  if (bundled) {
    for (const [path, source] of Object.entries(bundled)) map.set(path.replace(/^.*\/shaders\//, ''), source);
    return map;
  }
  const { readdir, readFile } = await import('node:fs/promises');
  const { fileURLToPath } = await import('node:url');
  const root = fileURLToPath(new URL('../../shaders/', import.meta.url));
  const walk = async (dir: string, prefix: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) await walk(`${dir}${entry.name}/`, `${prefix}${entry.name}/`);
      else if (entry.name.endsWith('.wgsl')) map.set(`${prefix}${entry.name}`, await readFile(`${dir}${entry.name}`, 'utf8'));
    }
  };
  await walk(root, '');
  return map;
}

/** The source of `shaders/<name>` (e.g. 'rmsnorm.wgsl'). */
export async function shaderSource(name: string): Promise<string> {
  cache ??= await loadAll();
  const source = cache.get(name);
  if (source === undefined) throw new Error(`shader "${name}" not found in shaders/ (have: ${[...cache.keys()].join(', ')})`);
  return source;
}
