/**
 * Kernel variants from one WGSL source, as llama.cpp's ggml-webgpu generates its variants from one template:
 * a line `//! if NAME` ... `//! else` ... `//! endif` keeps one branch, chosen by the variant's defines, so an f16
 * and an f32 kernel, or a subgroup and a workgroup reduction, are one file. Defines are booleans; `//! if !NAME`
 * negates; blocks nest. Numbers (tile sizes, workgroup sizes) belong in WGSL `override` constants instead, which
 * pipelines set without a new module; types belong in `alias` declarations inside the branches.
 *
 * The directives are comments, so a file whose branches are all taken by default still reads as WGSL.
 */

export type ShaderDefines = Readonly<Record<string, boolean>>;

const DIRECTIVE = /^[ \t]*\/\/! (if|else|endif)\b[ \t]*(!?)(\w*)[ \t]*$/;

/** `source` with every `//! if` block reduced to the branch `defines` select (names not given count as false). */
export function selectVariant(source: string, defines: ShaderDefines = {}, file = 'shader'): string {
  const out: string[] = [];
  // One entry per open block: whether its current branch is kept, and whether the enclosing text is.
  const stack: { keep: boolean; parentKeeps: boolean; sawElse: boolean; line: number }[] = [];
  const keeping = () => stack.every((b) => b.keep);
  source.split('\n').forEach((line, i) => {
    const m = DIRECTIVE.exec(line);
    if (!m) {
      if (keeping()) out.push(line);
      return;
    }
    const [, word, negate, name] = m;
    if (word === 'if') {
      if (!name) throw new Error(`shaders/${file}:${i + 1}: "//! if" needs a name`);
      const value = defines[name] === true;
      stack.push({ keep: negate ? !value : value, parentKeeps: keeping(), sawElse: false, line: i + 1 });
    } else if (word === 'else') {
      const top = stack.at(-1);
      if (!top || top.sawElse) throw new Error(`shaders/${file}:${i + 1}: "//! else" without an open "//! if"`);
      top.keep = !top.keep;
      top.sawElse = true;
    } else {
      if (!stack.pop()) throw new Error(`shaders/${file}:${i + 1}: "//! endif" without an open "//! if"`);
    }
  });
  if (stack.length) throw new Error(`shaders/${file}:${stack.at(-1)!.line}: "//! if" is never closed`);
  return out.join('\n');
}

/** A stable key for a define set (pipeline caches key modules by it). */
export function definesKey(defines: ShaderDefines = {}): string {
  return Object.keys(defines)
    .filter((k) => defines[k])
    .sort()
    .join(',');
}
