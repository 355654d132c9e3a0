// One small interface over the three engines and their drivers, for the
// browser test suite and the browser bench:
//   launch(engine) -> Browser { engine, version, newContext(), close() }
//   Context { newPage(url), close() }      a fresh profile: no cache, no storage
//   Page { evaluate(fn, arg), goto(url), cdp(), pw, kill(), close() }; newPage(url, { cpuThrottle }) on Chromium;
//   pw is the Playwright page (Chromium, Firefox; null in WebKit)
// evaluate(fn, arg) sends fn's source and a JSON argument and returns the
// JSON result of its promise, in every engine.
//   chromium  Debian's Chromium through playwright-core (CDP)
//   firefox   Firefox ESR through playwright-core 1.64.1 over WebDriver BiDi
//   webkit    WebKitGTK's MiniBrowser through selenium-webdriver and
//             WebKitWebDriver (needs an X display: run under xvfb-run). One
//             WebKitWebDriver serves one session, so each context is its own
//             driver process and MiniBrowser (ephemeral, like a new profile).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firefox } from 'playwright-core';
import { launchChromium } from './chromium.mjs';

export const ENGINES = ['chromium', 'firefox', 'webkit'];

const FIREFOX = '/usr/bin/firefox-esr';
const WEBKIT_DRIVER = '/usr/bin/WebKitWebDriver';
const MINIBROWSER = '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';

/** What is missing to run an engine, or null. */
export function missingFor(engine) {
  if (engine === 'firefox' && !existsSync(FIREFOX)) return 'firefox-esr (apt-get install -y firefox-esr)';
  if (engine === 'webkit') {
    if (!existsSync(WEBKIT_DRIVER) || !existsSync(MINIBROWSER)) return 'WebKitGTK (apt-get install -y webkit2gtk-driver)';
    if (!process.env.DISPLAY) return 'an X display (run under xvfb-run -a; apt-get install -y xvfb)';
  }
  return null;
}

/**
 * Launches an engine. `jsc` sets JavaScriptCore options of WebKitGTK's web
 * process (as JSC_<name>=<value> in its environment), e.g. { useConcurrentJIT: false }.
 */
export async function launch(engine, { chromiumArgs = [], jsc = {} } = {}) {
  const missing = missingFor(engine);
  if (missing) throw new Error(`${engine}: missing ${missing}`);
  if (engine === 'chromium') return playwrightBrowser('chromium', await launchChromium(chromiumArgs));
  if (engine === 'firefox') {
    const home = mkdtempSync(join(tmpdir(), 'myc-firefox-home-'));
    const browser = await firefox.launch({
      channel: 'moz-firefox',
      executablePath: FIREFOX,
      headless: true,
      env: { ...process.env, HOME: home },
      firefoxUserPrefs: {
        // WebRTC between two contexts on one machine.
        'media.peerconnection.ice.loopback': true,
        'media.peerconnection.ice.obfuscate_host_addresses': false,
        'media.navigator.permission.disabled': true,
      },
    });
    return playwrightBrowser('firefox', browser);
  }
  if (engine === 'webkit') return webkitBrowser(jsc);
  throw new Error(`unknown engine ${engine} (one of ${ENGINES.join(', ')})`);
}

function playwrightBrowser(engine, browser) {
  return {
    engine,
    version: browser.version(),
    mainContext: null,
    async newContext() {
      const context = await browser.newContext();
      return {
        /** cpuThrottle (Chromium): slow the page's CPU this many times (CDP), from before the navigation. */
        async newPage(url, { cpuThrottle = 1 } = {}) {
          const page = await context.newPage();
          const pageErrors = [];
          page.on('pageerror', (e) => pageErrors.push(String(e)));
          if (cpuThrottle !== 1) {
            if (engine !== 'chromium') throw new Error(`CPU throttling is not available in ${engine}`);
            // The override lasts while this session stays attached: as long as the page.
            const session = await context.newCDPSession(page);
            await session.send('Emulation.setCPUThrottlingRate', { rate: cpuThrottle });
          }
          if (url) await page.goto(url);
          return {
            goto: (u) => page.goto(u).then(() => undefined),
            evaluate: (fn, arg) => page.evaluate(fn, arg),
            cdp: engine === 'chromium' ? () => context.newCDPSession(page) : null,
            /** The Playwright page itself (Chromium, Firefox): clicks, typing, screenshots. */
            pw: page,
            errors: () => pageErrors.splice(0),
            close: () => page.close(),
            // Ends the page abruptly: Chromium crashes its renderer (CDP
            // Page.crash); Firefox closes the tab without unload handlers.
            async kill() {
              if (engine === 'chromium') {
                const cdp = await context.newCDPSession(page);
                void cdp.send('Page.crash').catch(() => undefined);
                await new Promise((r) => setTimeout(r, 50));
              }
              await page.close({ runBeforeUnload: false }).catch(() => undefined);
            },
          };
        },
        close: () => context.close(),
      };
    },
    close: () => browser.close(),
  };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function webkitSession(jsc) {
  const { Builder } = await import('selenium-webdriver');
  const port = await freePort();
  const env = { ...process.env };
  for (const [k, v] of Object.entries(jsc)) env[`JSC_${k}`] = String(v);
  const driverProcess = spawn(WEBKIT_DRIVER, [`--port=${port}`], { stdio: 'ignore', env });
  const caps = {
    browserName: 'MiniBrowser',
    'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation'] },
  };
  let driver = null;
  for (let attempt = 0; attempt < 50 && !driver; attempt++) {
    try {
      driver = await new Builder().usingServer(`http://127.0.0.1:${port}`).withCapabilities(caps).build();
    } catch (e) {
      if (attempt === 49 || driverProcess.exitCode !== null) {
        driverProcess.kill();
        throw new Error(`WebKitWebDriver did not start a session: ${String(e)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await driver.manage().setTimeouts({ script: 15 * 60_000, pageLoad: 60_000 });
  return {
    driver,
    async quit() {
      await driver.quit().catch(() => undefined);
      driverProcess.kill();
    },
  };
}

/** WebKitWebDriver gave up waiting for a page (not the test's own deadline). */
function driverTimeout(e) {
  const err = new Error(`WebKitWebDriver timed out waiting for the page: ${e.message}`);
  err.driverTimeout = true;
  err.stack = `${err.message}\n${e.stack ?? ''}`;
  return err;
}

// The page-side wrapper for selenium: settle fn(arg)'s promise and hand back
// { ok, value } or { ok: false, error } through executeAsyncScript's callback.
const WEBKIT_EVAL = `
  const done = arguments[arguments.length - 1];
  const fn = (0, eval)('(' + arguments[0] + ')');
  Promise.resolve().then(() => fn(arguments[1])).then(
    (value) => done({ ok: true, value: value === undefined ? null : value }),
    (e) => done({ ok: false, error: String(e) + (e && e.stack ? '\\n' + e.stack : '') }));`;

async function webkitBrowser(jsc) {
  let main = await webkitSession(jsc);
  const version = (await main.driver.getCapabilities()).get('browserVersion') ?? '';
  const contexts = new Set();
  const makeContext = (session) => {
    // Several pages of one context are windows of its session; the driver
    // talks to one window at a time, so every command switches first and
    // commands are serialized. A page's evaluate() holds the driver until its
    // promise settles: start long work and poll, as TOOLCHAIN.md says.
    let queue = Promise.resolve();
    let current = null;
    let firstFree = true;
    const serial = (handle, f) => {
      const run = queue.then(async () => {
        if (current !== handle) {
          await session.driver.switchTo().window(handle);
          current = handle;
        }
        return f();
      });
      queue = run.catch(() => undefined);
      return run;
    };
    return {
      async newPage(url) {
        let handle;
        if (firstFree) {
          firstFree = false;
          handle = await session.driver.getWindowHandle();
        } else {
          await queue;
          await session.driver.switchTo().newWindow('tab');
          handle = await session.driver.getWindowHandle();
        }
        current = handle;
        const page = {
          goto: (u) => serial(handle, () => session.driver.get(u)),
          evaluate: (fn, arg) =>
            serial(handle, async () => {
              let r;
              try {
                r = await session.driver.executeAsyncScript(WEBKIT_EVAL, fn.toString(), arg === undefined ? null : arg);
              } catch (e) {
                // The script timeout is 15 minutes: a TimeoutError sooner is the
                // driver giving up on the page itself (its 60 s page-load wait).
                if (e && e.name === 'TimeoutError') throw driverTimeout(e);
                throw e;
              }
              if (!r || !r.ok) throw new Error(r ? r.error : 'no result from the page');
              return r.value;
            }),
          cdp: null,
          pw: null,
          errors: () => [],
          // WebKit: the window is closed (or, if it is the last, navigated away) mid-work.
          kill: () => page.close(),
          async close() {
            const handles = await serial(handle, () => session.driver.getAllWindowHandles());
            if (handles.length > 1) {
              await serial(handle, () => session.driver.close());
              current = null;
            } else {
              // The session's last window stays, blank, for the next page.
              await serial(handle, () => session.driver.get('about:blank'));
              firstFree = true;
            }
          },
        };
        if (url) await page.goto(url);
        return page;
      },
      async close() {
        if (session === main) return;
        contexts.delete(session);
        await session.quit();
      },
    };
  };
  const mainContext = makeContext(main);
  return {
    engine: 'webkit',
    version,
    // The first context is the session launched above; later ones are new
    // driver processes, closed with their context.
    mainContext: () => mainContext,
    async newContext() {
      const session = await webkitSession(jsc);
      contexts.add(session);
      return makeContext(session);
    },
    async close() {
      for (const s of contexts) await s.quit();
      await main.quit();
      main = null;
    },
  };
}
