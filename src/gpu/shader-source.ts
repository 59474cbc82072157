/**
 * WGSL sources from `shaders/`, the same files in the browser and in Node.
 *
 * Under Vite (the app, vitest) the files are bundled as strings by import.meta.glob; under plain Node (the
 * CLI through tsx) they are read from disk next to the sources. Either way a kernel is named by its file.
 *
 * WGSL has no includes; a line `//! include "include/x.wgsl"` (a comment, so the file still reads as WGSL)
 * is replaced by that file (a path under shaders/), so kernels that share a helper keep one copy of it.
 * Fragments live in shaders/include/ and are never compiled on their own.
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
      else if (entry.name.endsWith('.wgsl'))
        map.set(`${prefix}${entry.name}`, await readFile(`${dir}${entry.name}`, 'utf8'));
    }
  };
  await walk(root, '');
  return map;
}

const INCLUDE = /^\/\/! include "([^"]+)"[ \t]*$/gm;

/** `source` with its include lines replaced by the files they name (which may include others, never in a cycle). */
export function resolveIncludes(
  source: string,
  files: ReadonlyMap<string, string>,
  from = 'shader',
  stack: string[] = [],
): string {
  return source.replace(INCLUDE, (_line, path: string) => {
    if (stack.includes(path)) throw new Error(`shaders/${from}: include cycle ${[...stack, path].join(' -> ')}`);
    const included = files.get(path);
    if (included === undefined) throw new Error(`shaders/${from}: includes "${path}", which is not in shaders/`);
    return resolveIncludes(included, files, path, [...stack, path]);
  });
}

/** The source of `shaders/<name>` (e.g. 'rmsnorm.wgsl'), includes resolved. */
export async function shaderSource(name: string): Promise<string> {
  cache ??= await loadAll();
  const source = cache.get(name);
  if (source === undefined)
    throw new Error(`shader "${name}" not found in shaders/ (have: ${[...cache.keys()].join(', ')})`);
  return resolveIncludes(source, cache, name, [name]);
}
