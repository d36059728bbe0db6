// Screenshots and axe-core checks for the browser suites: one page in each of the four looks
// every page must pass (light and dark, a phone and a desktop). Each suite passes its own
// axe-core source, since the packages live in the suites' node_modules.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The four looks every page is checked in: light and dark, a phone and a desktop. */
export const LOOKS = [
  { scheme: 'light', width: 375 }, { scheme: 'light', width: 1280 },
  { scheme: 'dark', width: 375 }, { scheme: 'dark', width: 1280 },
];

/** Relative luminance (0 black … 1 white) of a computed `rgb(…)`/`rgba(…)` colour. */
export function luminance(color) {
  const [r, g, b] = (color.match(/[\d.]+/g) || []).slice(0, 3).map(Number).map((c) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** The page looked dark in dark mode and light in light mode (a transparent body counts as white). */
export function assertFollowsScheme(backgrounds, what) {
  const lum = (c) => (/rgba\(0, 0, 0, 0\)/.test(c) ? 1 : luminance(c));
  assert.ok(lum(backgrounds.light) > 0.6, `${what}: light background in light mode (${backgrounds.light})`);
  assert.ok(lum(backgrounds.dark) < 0.1, `${what}: dark background in dark mode (${backgrounds.dark})`);
}

/**
 * `check(page, name)`: a screenshot to `<artifacts>/<name>.png` and an axe-core run with no
 * serious or critical violation; `checkEverywhere(page, name)`: `check` in each of LOOKS
 * (`<name>-<scheme>-<width>`), returning the body's background colour per scheme.
 */
export function looks({ axeSource, artifacts }) {
  async function check(page, name) {
    await mkdir(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
    // Injected through the DevTools protocol, so the page's strict CSP stays as it is.
    if (!(await page.evaluate(() => !!window.axe))) await page.evaluate(`${axeSource}\n;0`);
    const violations = await page.evaluate(async () => {
      const r = await window.axe.run(document, {
        runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
      });
      return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(' ')) }));
    });
    await writeFile(join(artifacts, `${name}.axe.json`), JSON.stringify(violations, null, 2));
    const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    assert.deepEqual(bad, [], `axe: serious/critical violations on ${name}`);
    return violations;
  }
  async function checkEverywhere(page, name) {
    const original = page.viewportSize();
    const backgrounds = {};
    for (const { scheme, width } of LOOKS) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.setViewportSize({ width, height: 900 });
      await check(page, `${name}-${scheme}-${width}`);
      backgrounds[scheme] = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    }
    await page.emulateMedia({ colorScheme: 'light' });
    if (original) await page.setViewportSize(original);
    return backgrounds;
  }
  return { check, checkEverywhere };
}
