/**
 * The built app and misbehaving downloads on one local server (src/util/hostile-server.ts): paths the test
 * names misbehave (stall, lie about their size, never end), every other path is the built site (E2E_DIST, as
 * `vite preview` serves it). One origin, so an adapter URL on it is accepted over http (the page's own site,
 * as in development) and the page runs under its real Content-Security-Policy; the bytes come over a real
 * socket, so the browser's own fetch meets the stall, not a stand-in for it.
 */
import { readFileSync, statSync } from 'node:fs';
import { extname, join, normalize, sep } from 'node:path';
import type { Page } from '@playwright/test';
import { startHostileServer, type HostileRoute, type HostileServer } from '../src/util/hostile-server';
import { IDLE_TIMEOUT_SETTING } from '../src/util/http-body';

const DIST = join(process.cwd(), process.env.E2E_DIST ?? 'dist');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.map': 'application/json',
};

/** A file of the built site, or undefined (404). */
export function siteFile(path: string): Buffer | undefined {
  const file = normalize(join(DIST, path === '/' ? 'index.html' : decodeURIComponent(path)));
  if (!file.startsWith(DIST + sep)) return undefined;
  try {
    return statSync(file).isFile() ? readFileSync(file) : undefined;
  } catch {
    return undefined;
  }
}

export interface HostileApp {
  server: HostileServer;
  /** "http://127.0.0.1:PORT/": the app's address. */
  url: string;
  /** Misbehaving routes by path (no query); cleared between tests. */
  routes: Map<string, HostileRoute>;
  /** Requests of `path` so far. */
  count(path: string): number;
}

export async function startHostileApp(): Promise<HostileApp> {
  const routes = new Map<string, HostileRoute>();
  const server = await startHostileServer((raw) => {
    const path = new URL(raw, 'http://x').pathname;
    const hostile = routes.get(path);
    if (hostile) return hostile;
    const body = siteFile(path);
    if (!body) return undefined;
    return {
      body,
      headers: { 'Content-Type': TYPES[extname(path === '/' ? 'index.html' : path)] ?? 'application/octet-stream' },
    };
  });
  return {
    server,
    url: server.url,
    routes,
    count: (path) => server.requests.filter((r) => new URL(r, 'http://x').pathname === path).length,
  };
}

/** The page's idle timeout (seconds without a byte before a download attempt is given up), from the next load on. */
export async function setIdleTimeout(page: Page, seconds: number): Promise<void> {
  await page.addInitScript(([key, value]) => localStorage.setItem(key, value), [IDLE_TIMEOUT_SETTING, String(seconds)]);
}
