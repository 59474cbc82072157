// Types of chromium-launch.mjs for playwright.config.ts.
export declare const CHROMIUM_ARGS: string[];
export declare function chromiumLaunchOptions(): { args: string[]; executablePath?: string };
