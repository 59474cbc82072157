/**
 * How the e2e tests (playwright.config.ts) and scripts/screenshot.mjs launch Chromium: headless with WebGPU and
 * WebGL on SwiftShader (CPU), so no GPU is needed; Debian's chromium package where it is installed, elsewhere
 * Playwright's own browser (`npx playwright install chromium`). Plain JavaScript, so node runs the script as is.
 */
import { existsSync } from 'node:fs';

const SYSTEM_CHROMIUM = '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--enable-unsafe-swiftshader',
  '--use-webgpu-adapter=swiftshader',
  '--use-angle=swiftshader',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Playwright's launch options: the arguments above, and the system browser where there is one. */
export function chromiumLaunchOptions() {
  return { args: CHROMIUM_ARGS, ...(existsSync(SYSTEM_CHROMIUM) ? { executablePath: SYSTEM_CHROMIUM } : {}) };
}
