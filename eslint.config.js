// ESLint (flat config, typescript-eslint): the recommended rules, as far as the code passes them, and the
// layering of src/. Run by `npm test` (its `types` stage) and `npx eslint .`.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/**
 * The layers of src/: a folder imports from the folders under it (and theirs, and so on) and from util/, never
 * from above or beside (envs, gpu <- llm <- rl <- worker, cli <- state <- ui):
 *
 *   folder       directly on      what it is
 *   util         -                helpers under everything
 *   envs, gpu    util             the environments; WebGPU plumbing
 *   llm          envs, gpu        the model (model/), the engine (engine/), LoRA training (train/), the CPU
 *                                 reference (reference/)
 *   rl           llm              PPO, TWOSOME, the policy over action scores
 *   nlp-eval     llm              the capability check: zero-shot benchmarks scored on the engine, their
 *                                 parsers and downloads
 *   share        rl               adapters, bundles and links as bytes (PEFT, safetensors, zip)
 *   persist      share            IndexedDB stores of runs and adapters; of the worker only the run records it
 *                                 stores (worker/training-protocol.ts)
 *   worker, cli  persist, nlp-eval the playground's workers; the command line
 *   state        worker           the page's stores
 *   scene        envs             the 3D scenes, drawing the environments' render descriptions
 *   ui           state, scene     React components (main.tsx mounts them)
 *
 * Tests (*.test.ts) may reach up to build realistic inputs: llm's backward tests take rl's policy gradient as
 * their loss, its optimizer test rl's CPU Adam as the reference.
 */
const UNDER = {
  util: [],
  envs: ['util'],
  gpu: ['util'],
  llm: ['envs', 'gpu'],
  rl: ['llm'],
  'nlp-eval': ['llm'],
  share: ['rl'],
  persist: ['share'],
  worker: ['persist', 'nlp-eval'],
  cli: ['persist', 'nlp-eval'],
  state: ['worker'],
  scene: ['envs'],
  ui: ['state', 'scene'],
};
/** Files of a folder above that a folder may still import. */
const EXCEPT = { persist: { worker: ['./training-protocol.ts'] } };

/** Every folder a folder may import: those under it, theirs, and so on, and util. */
function allowed(folder) {
  const seen = new Set(['util']);
  const visit = (f) => {
    for (const g of UNDER[f]) {
      if (seen.has(g)) continue;
      seen.add(g);
      visit(g);
    }
  };
  visit(folder);
  return [...seen];
}

/** import-x/no-restricted-paths zones: each folder against every folder it may not import. */
function layeringZones() {
  const folders = Object.keys(UNDER);
  return folders.flatMap((target) => {
    const ok = allowed(target);
    return folders
      .filter((from) => from !== target && !ok.includes(from))
      .map((from) => ({
        target: `./src/${target}`,
        from: `./src/${from}`,
        except: EXCEPT[target]?.[from] ?? [],
        message: `src/${target} imports only from ${ok.map((f) => `src/${f}`).join(', ')} (layers: eslint.config.js)`,
      }));
  });
}

export default defineConfig(
  { ignores: ['dist/**', 'dist-*/**', 'public/**', 'test-results*/**', 'playwright-report/**', '.vite/**'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    rules: {
      // A leading underscore marks what is unused on purpose (an interface's argument, a field left out).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    files: ['**/*.tsx'],
    plugins: { 'react-hooks': reactHooks },
    rules: { 'react-hooks/rules-of-hooks': 'error', 'react-hooks/exhaustive-deps': 'error' },
  },
  {
    // Tests read untyped JSON fixtures and files.
    files: ['**/*.test.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['bin/**/*.mjs', 'scripts/**/*.{mjs,mts}', '*.config.{js,ts}'],
    languageOptions: { globals: globals.node },
  },
  {
    // Functions that Playwright runs in the page.
    files: ['scripts/screenshot.mjs'],
    languageOptions: { globals: globals.browser },
  },
  {
    // Tests may reach up (see above).
    files: ['src/**/*.{ts,tsx}'],
    ignores: ['**/*.test.ts'],
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.tsx', '.js', '.mjs'] })] },
    rules: { 'import-x/no-restricted-paths': ['error', { basePath: import.meta.dirname, zones: layeringZones() }] },
  },
);
