import { defineConfig, devices } from '@playwright/test';
import { chromiumLaunchOptions } from './scripts/chromium-launch.mjs';

/**
 * End-to-end tests of the built playground (`vite build` first; `npm run test:e2e` does both), and the URL tests
 * (e2e/url.spec.ts) once more against the development server (`npm start`), whose React StrictMode runs the
 * page's startup twice: project `dev-server`. Chromium runs as scripts/chromium-launch.mjs says: headless,
 * WebGPU and WebGL on SwiftShader (CPU), no GPU needed.
 */
// Overridable so two checkouts (or two people) can run the suite side by side: E2E_PORT, and E2E_DIST for a
// build made with `vite build --outDir <dir>`.
const PORT = Number(process.env.E2E_PORT ?? 4173);
const DIST = process.env.E2E_DIST ?? 'dist';
/** The development server's port: E2E_DEV_PORT, or the one after E2E_PORT. */
const DEV_PORT = Number(process.env.E2E_DEV_PORT ?? PORT + 1);

const chromium = {
  ...devices['Desktop Chrome'],
  viewport: { width: 1280, height: 800 },
  launchOptions: chromiumLaunchOptions(),
};

export default defineConfig({
  testDir: 'e2e',
  fullyParallel: false,
  // One browser at a time: SwiftShader renders on the CPU, and two at once are slower on a 2-core machine.
  workers: 1,
  retries: process.env.CI ? 1 : 0,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  reporter: [['list']],
  outputDir: process.env.E2E_DIST ? `test-results-${PORT}` : 'test-results',
  use: {
    baseURL: `http://localhost:${PORT}/`,
    viewport: { width: 1280, height: 800 },
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    actionTimeout: 15_000,
    navigationTimeout: 30_000,
  },
  projects: [
    { name: 'chromium', use: chromium },
    { name: 'dev-server', testMatch: 'url.spec.ts', use: { ...chromium, baseURL: `http://localhost:${DEV_PORT}/` } },
  ],
  webServer: [
    {
      command: `npx vite preview --port ${PORT} --strictPort --outDir ${DIST}`,
      url: `http://localhost:${PORT}/`,
      reuseExistingServer: !process.env.CI,
      timeout: 60_000,
      stdout: 'ignore',
      stderr: 'pipe',
    },
    {
      command: `npx vite --port ${DEV_PORT} --strictPort`,
      url: `http://localhost:${DEV_PORT}/`,
      reuseExistingServer: !process.env.CI,
      timeout: 60_000,
      stdout: 'ignore',
      stderr: 'pipe',
    },
  ],
});
