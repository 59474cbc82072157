/**
 * A file name from a model's index (a tensor-cache.json dataPath) as a path inside the model's directory:
 * relative, "/"-separated segments of safe characters, none of them "." or "..". Anything else (an absolute
 * path or URL, "../", a backslash, a percent-escape, a drive letter) would reach outside the model, so every
 * model source refuses it, as the downloader does. Platform-neutral.
 */
export function isContainedModelPath(file: string): boolean {
  if (file.length === 0 || file.length > 512) return false;
  return file.split('/').every((segment) => /^[A-Za-z0-9._-]+$/.test(segment) && segment !== '.' && segment !== '..');
}
