#!/usr/bin/env node
// The `twosome` command: runs the TypeScript sources in src/ directly (through tsx's loader), so the CLI
// and the app share one engine, not a build of it.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
