// End-to-end helpers: a real VS Code (code-server 4.100.3 = VS Code 1.100.3) driven by Debian's chromium through
// playwright-core. Install the tools once with `npm run setup:e2e` (scripts/setup-e2e.sh; `npm run test:e2e` does it).
//
//   import { withEditor } from './support/editor.js';
//   await withEditor({ name: 'ghost-text', vsix: vsixPath(), files: { 'a.py': 'def f():\n' },
//                      settings: { 'editor.inlineSuggest.enabled': true } }, async (editor) => {
//     await editor.openFile('a.py');                         // Control+P, name, Enter; waits for the editor
//     await editor.runCommand('LayerSkip: Show Statistics');  // Control+Shift+P, title, Enter
//     await editor.waitForStatusBarItem(/LayerSkip/);          // -> { id, label }: label = aria-label or text
//     await editor.page.keyboard.press('Tab');                 // the playwright Page for anything else
//     await editor.screenshot('accepted');                     // test-output/e2e/<name>/accepted.png
//   });
//
// withEditor() starts code-server on 127.0.0.1 (free port) with a fresh user-data dir, extensions dir and workspace
// in a temp dir, installs the .vsix, opens the workspace in a fresh headless chromium profile, runs the body, and
// always tears everything down. It writes a screenshot `end.png` (success) or `failure.png` (failure), then
// code-server.log, browser-console.log and code-server's own logs (logs/, extension host included) into
// test-output/e2e/<name>/ (emptied first). Playwright's API is typed here only as far as these helpers use it.
// Lower level, for tests that need no browser: prepareCodeServer(root, vsixFiles, settings) (fresh dirs + installs),
// startCodeServer(root, workspaceDir, logFile) -> { url, stop() }, installedExtensionDir(extensionsDir, id),
// missingTools(). Environment: LAYERSKIP_E2E_DIR (tools folder, default .e2e/), LAYERSKIP_CHROMIUM (browser binary).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';

export const repoRoot = path.resolve(__dirname, '..', '..', '..');
export const e2eToolsDir = process.env.LAYERSKIP_E2E_DIR ?? path.join(repoRoot, '.e2e');
export const codeServerBin = path.join(e2eToolsDir, 'node_modules', '.bin', 'code-server');
export const chromiumPath = process.env.LAYERSKIP_CHROMIUM ?? '/usr/bin/chromium';
/** The LayerSkip status bar item once the model is ready: its operating point ("⚡ full", "⚡ E2 d6"). */
export const MODEL_READY = /^⚡ (full|E\d+)/;
export const testOutputRoot = path.join(repoRoot, 'test-output', 'e2e');

// Settings that keep a fresh profile quiet and deterministic (no welcome page, trust prompt, update checks, git).
export const quietSettings: Record<string, unknown> = {
  'workbench.startupEditor': 'none',
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'update.mode': 'none',
  'git.enabled': false,
  'workbench.tips.enabled': false,
};

export interface Locator {
  first(): Locator;
  nth(index: number): Locator;
  count(): Promise<number>;
  waitFor(options?: { state?: 'attached' | 'detached' | 'visible' | 'hidden'; timeout?: number }): Promise<void>;
  getAttribute(name: string): Promise<string | null>;
  innerText(): Promise<string>;
  isVisible(): Promise<boolean>;
  scrollIntoViewIfNeeded(): Promise<void>;
  evaluateAll<R>(pageFunction: (elements: unknown[]) => R): Promise<R>;
}
/** A frame inside the page (a webview's iframes). */
export interface FrameLocator {
  frameLocator(selector: string): FrameLocator;
  locator(selector: string): Locator;
}
export interface Page {
  frameLocator(selector: string): FrameLocator;
  goto(url: string, options?: { waitUntil?: 'load' | 'domcontentloaded'; timeout?: number }): Promise<unknown>;
  locator(selector: string): Locator;
  keyboard: { press(key: string): Promise<void>; type(text: string, options?: { delay?: number }): Promise<void> };
  screenshot(options: { path: string; fullPage?: boolean }): Promise<unknown>;
  waitForTimeout(ms: number): Promise<void>;
  on(event: 'console', listener: (message: { type(): string; text(): string }) => void): void;
  on(event: 'pageerror', listener: (error: Error) => void): void;
}
interface BrowserContext {
  pages(): Page[];
  newPage(): Promise<Page>;
  close(): Promise<void>;
}
interface PlaywrightCore {
  chromium: {
    launchPersistentContext(
      userDataDir: string,
      options: { executablePath: string; headless: boolean; args: string[]; viewport: { width: number; height: number } },
    ): Promise<BrowserContext>;
  };
}

export interface StatusBarItem {
  id: string;
  label: string;
}

export interface EditorOptions {
  /** Names the output folder test-output/e2e/<name>/. */
  name: string;
  /** .vsix files to install before the editor starts. */
  vsix?: string[] | string;
  /** Workspace files: relative path -> contents. */
  files?: Record<string, string>;
  /** User settings merged over quietSettings. */
  settings?: Record<string, unknown>;
}

export interface Editor {
  page: Page;
  url: string;
  workspaceDir: string;
  extensionsDir: string;
  outputDir: string;
  openFile(relativePath: string): Promise<void>;
  runCommand(title: string): Promise<void>;
  statusBarItems(): Promise<StatusBarItem[]>;
  waitForStatusBarItem(label: RegExp, timeoutMs?: number): Promise<StatusBarItem>;
  /** The text of the first notification toast matching `text` (other toasts may be showing too). */
  waitForNotification(text: RegExp, timeoutMs?: number): Promise<string>;
  /** Lines of the active editor's visible text (non-breaking spaces turned into spaces). */
  editorLines(): Promise<string[]>;
  screenshot(name: string): Promise<string>;
  /** The folder an installed extension was unpacked to, e.g. installedExtensionDir('layerskip.layerskip-completion'). */
  installedExtensionDir(extensionId: string): string;
}

/**
 * Takes `snapshot()` until `pick` finds what is wanted in it (the page changes under us: read it again, never index an
 * old reading); the error describes the last snapshot seen.
 */
async function pollFor<S, T>(
  page: Page,
  snapshot: () => Promise<S>,
  pick: (seen: S) => T | undefined,
  { timeoutMs, intervalMs = 250 }: { timeoutMs: number; intervalMs?: number },
  failure: (lastSeen: S) => string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const seen = await snapshot();
    const found = pick(seen);
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(failure(seen));
    await page.waitForTimeout(intervalMs);
  }
}

export function missingTools(): string[] {
  const missing: string[] = [];
  if (!fs.existsSync(codeServerBin)) missing.push(`code-server (${codeServerBin})`);
  if (!fs.existsSync(path.join(e2eToolsDir, 'node_modules', 'playwright-core'))) missing.push('playwright-core');
  if (!fs.existsSync(chromiumPath)) missing.push(`chromium (${chromiumPath})`);
  return missing;
}

function loadPlaywright(): PlaywrightCore {
  const missing = missingTools();
  if (missing.length > 0) {
    throw new Error(`e2e tools missing: ${missing.join(', ')}. Run: npm run setup:e2e`);
  }
  return createRequire(path.join(e2eToolsDir, 'package.json'))('playwright-core') as PlaywrightCore;
}

/** Code-server's own flags: local only, no auth, no telemetry/update checks, fresh dirs. */
function codeServerArgs(root: string): string[] {
  return [
    '--auth', 'none',
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--disable-getting-started-override',
    '--extensions-dir', path.join(root, 'extensions'),
    '--user-data-dir', path.join(root, 'data'),
  ];
}

function codeServerEnv(root: string): NodeJS.ProcessEnv {
  return { ...process.env, XDG_CONFIG_HOME: path.join(root, 'xdg'), XDG_DATA_HOME: path.join(root, 'xdg-data') };
}

/** Creates fresh code-server dirs under `root` with settings and the given extensions installed. */
export function prepareCodeServer(root: string, vsixFiles: string[], settings: Record<string, unknown>): void {
  const userDir = path.join(root, 'data', 'User');
  fs.mkdirSync(userDir, { recursive: true });
  fs.mkdirSync(path.join(root, 'extensions'), { recursive: true });
  fs.writeFileSync(path.join(userDir, 'settings.json'), JSON.stringify({ ...quietSettings, ...settings }, null, 2));
  for (const vsix of vsixFiles) {
    if (!fs.existsSync(vsix)) throw new Error(`no such .vsix: ${vsix} (run npm run package)`);
    const result = spawnSync(codeServerBin, [...codeServerArgs(root), '--install-extension', vsix, '--force'], {
      env: codeServerEnv(root),
      encoding: 'utf8',
      timeout: 120_000,
    });
    const output = `${result.stdout}${result.stderr}`;
    if (result.status !== 0 || !/successfully installed/i.test(output)) {
      throw new Error(`code-server --install-extension ${vsix} failed (exit ${String(result.status)}):\n${output}`);
    }
  }
}

/** The folder an installed extension was unpacked to: <extensionsDir>/<publisher>.<name>-<version>[-<target>]. */
export function installedExtensionDir(extensionsDir: string, extensionId: string): string {
  const prefix = `${extensionId.toLowerCase()}-`;
  const match = fs.readdirSync(extensionsDir).find((entry) => entry.toLowerCase().startsWith(prefix));
  if (match === undefined) throw new Error(`${extensionId} is not installed in ${extensionsDir}`);
  return path.join(extensionsDir, match);
}

export interface RunningCodeServer {
  url: string;
  process: ChildProcess;
  /** Kills code-server's whole process group (extension host and server included). */
  stop(): Promise<void>;
}

/** Starts code-server on 127.0.0.1 (port 0 = a free port; it prints the one it bound) and waits for /healthz. */
export async function startCodeServer(
  root: string,
  workspaceDir: string,
  logFile: string,
  options: { port?: number; timeoutMs?: number } = {},
): Promise<RunningCodeServer> {
  const log = fs.openSync(logFile, 'a');
  const child = spawn(
    codeServerBin,
    ['--bind-addr', `127.0.0.1:${options.port ?? 0}`, ...codeServerArgs(root), workspaceDir],
    { env: codeServerEnv(root), detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const collect = (chunk: Buffer): void => {
    output += chunk.toString();
    fs.writeSync(log, chunk);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signalGroup = (signal: NodeJS.Signals): void => {
    try {
      process.kill(-(child.pid as number), signal);
    } catch {
      // no process of the group is left
    }
  };
  const stop = async (): Promise<void> => {
    if (child.pid !== undefined) {
      // SIGTERM first so code-server shuts down cleanly; then SIGKILL for whatever the group still holds (an
      // extension host was seen outliving its server).
      signalGroup('SIGTERM');
      if (child.exitCode === null && child.signalCode === null) {
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
      }
      signalGroup('SIGKILL');
    }
    fs.closeSync(log);
  };

  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    const bound = /HTTP server listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
    if (bound?.[1] !== undefined) {
      const url = bound[1];
      try {
        const health = await fetch(`${url}/healthz`);
        if (health.ok) return { url, process: child, stop };
      } catch {
        // not answering yet
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await stop();
  throw new Error(`code-server did not become healthy (see ${logFile}):\n${output.slice(-2000)}`);
}

function writeWorkspace(workspaceDir: string, files: Record<string, string>): void {
  fs.mkdirSync(workspaceDir, { recursive: true });
  for (const [relativePath, contents] of Object.entries(files)) {
    const file = path.join(workspaceDir, relativePath);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, contents);
  }
}

// Runs in the page. Built from source text, not a TS arrow function: the transpiled closure could reference
// helpers (tsx's __name) that do not exist in the page.
const readStatusBarItems = new Function(
  'items',
  `return items.map((item) => ({
     id: item.id,
     label: item.querySelector('.statusbar-item-label')?.getAttribute('aria-label') ?? item.textContent.trim(),
   }));`,
) as (elements: unknown[]) => StatusBarItem[];

function makeEditor(page: Page, url: string, root: string, workspaceDir: string, outputDir: string): Editor {
  const extensionsDir = path.join(root, 'extensions');
  const editor: Editor = {
    page,
    url,
    workspaceDir,
    extensionsDir,
    outputDir,
    async openFile(relativePath) {
      await page.keyboard.press('Control+P');
      await page.locator('.quick-input-widget input').first().waitFor({ state: 'visible', timeout: 10_000 });
      await page.keyboard.type(relativePath);
      // Wait for the file to be listed before Enter: quick open searches asynchronously.
      await page.locator('.quick-input-list .monaco-list-row').first().waitFor({ state: 'visible', timeout: 15_000 });
      await page.keyboard.press('Enter');
      const tab = page.locator(`.tabs-container .tab[aria-label*="${path.basename(relativePath)}"]`).first();
      await tab.waitFor({ state: 'visible', timeout: 15_000 });
      await page.locator('.editor-instance .monaco-editor .view-lines').first().waitFor({ state: 'visible' });
    },
    async runCommand(title) {
      await page.keyboard.press('Control+Shift+P');
      await page.locator('.quick-input-widget input').first().waitFor({ state: 'visible', timeout: 10_000 });
      await page.keyboard.type(title);
      // Right after start-up the command list is still filling: Enter on whatever row shows first could run
      // another command, so wait until the top row is the one asked for.
      const topRow = page.locator('.quick-input-list .monaco-list-row').first();
      await pollFor(
        page,
        async () => (await topRow.getAttribute('aria-label').catch(() => null)) ?? '',
        (label) => (label.includes(title) ? label : undefined),
        { timeoutMs: 10_000, intervalMs: 100 },
        (label) => `command palette has no row "${title}" (top row: ${JSON.stringify(label)})`,
      );
      await page.keyboard.press('Enter');
    },
    async statusBarItems() {
      // One snapshot in the page: items come and go while the workbench starts, so counting then indexing races.
      return page.locator('.part.statusbar .statusbar-item').evaluateAll(readStatusBarItems);
    },
    async waitForStatusBarItem(label, timeoutMs = 30_000) {
      return pollFor(
        page,
        () => editor.statusBarItems(),
        (items) => items.find((item) => label.test(item.label) || label.test(item.id)),
        { timeoutMs },
        (items) => `no status bar item matching ${String(label)} within ${timeoutMs} ms; items: ` + JSON.stringify(items.map((item) => item.label)),
      );
    },
    async waitForNotification(text, timeoutMs = 30_000) {
      return pollFor(
        page,
        () =>
          page
            .locator('.notifications-toasts .notification-list-item-message')
            .evaluateAll((elements) => elements.map((element) => (element as { textContent: string | null }).textContent ?? '')),
        (messages) => messages.find((message) => text.test(message)),
        { timeoutMs },
        (messages) => `no notification matching ${String(text)} within ${timeoutMs} ms; showing: ${JSON.stringify(messages)}`,
      );
    },
    async editorLines() {
      const lines = page.locator('.editor-instance .monaco-editor .view-lines .view-line');
      const texts: string[] = [];
      for (let i = 0, n = await lines.count(); i < n; i++) {
        texts.push((await lines.nth(i).innerText()).replace(/\u00a0/g, ' '));
      }
      return texts;
    },
    async screenshot(name) {
      const file = path.join(outputDir, `${name}.png`);
      await page.screenshot({ path: file });
      return file;
    },
    installedExtensionDir(extensionId) {
      return installedExtensionDir(extensionsDir, extensionId);
    },
  };
  return editor;
}

/** Runs `body` against a fresh code-server + chromium; see the top of this file. */
export async function withEditor<T>(options: EditorOptions, body: (editor: Editor) => Promise<T>): Promise<T> {
  const playwright = loadPlaywright();
  const outputDir = path.join(testOutputRoot, options.name);
  fs.rmSync(outputDir, { recursive: true, force: true });
  fs.mkdirSync(outputDir, { recursive: true });
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `layerskip-e2e-${options.name}-`));
  const workspaceDir = path.join(root, 'workspace');
  writeWorkspace(workspaceDir, options.files ?? {});
  const vsixFiles = options.vsix === undefined ? [] : [options.vsix].flat();
  prepareCodeServer(root, vsixFiles, options.settings ?? {});

  const server = await startCodeServer(root, workspaceDir, path.join(outputDir, 'code-server.log'));
  let context: BrowserContext | undefined;
  let page: Page | undefined;
  const consoleLog: string[] = [];
  try {
    context = await playwright.chromium.launchPersistentContext(path.join(root, 'chromium-profile'), {
      executablePath: chromiumPath,
      headless: true,
      viewport: { width: 1280, height: 800 },
      args: [
        '--no-sandbox', // root in CI containers
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (message) => consoleLog.push(`[${message.type()}] ${message.text()}`));
    page.on('pageerror', (error) => consoleLog.push(`[pageerror] ${error.message}`));
    const folderUrl = `${server.url}/?folder=${encodeURIComponent(workspaceDir)}`;
    await page.goto(folderUrl, { waitUntil: 'domcontentloaded', timeout: 60_000 });
    await page.locator('.monaco-workbench .part.statusbar').first().waitFor({ state: 'visible', timeout: 60_000 });
    const result = await body(makeEditor(page, server.url, root, workspaceDir, outputDir));
    await page.screenshot({ path: path.join(outputDir, 'end.png') });
    return result;
  } catch (error) {
    if (page !== undefined) {
      await page.screenshot({ path: path.join(outputDir, 'failure.png') }).catch(() => undefined);
    }
    throw error;
  } finally {
    await context?.close().catch(() => undefined);
    await server.stop();
    fs.writeFileSync(path.join(outputDir, 'browser-console.log'), consoleLog.join('\n') + '\n');
    const logsDir = path.join(root, 'data', 'logs');
    if (fs.existsSync(logsDir)) fs.cpSync(logsDir, path.join(outputDir, 'logs'), { recursive: true });
    fs.rmSync(root, { recursive: true, force: true });
  }
}
