// Drives the pixla review page in Debian's chromium (headless, via playwright-core), as a
// reviewer would: grid, filters, keyboard navigation, a drawn box, a region marked false,
// export. Called by tests/review.rs; prints one JSON object on stdout.
//
//   node review.mjs roundtrip INDEX.html OUTDIR PLAN.json
//   node review.mjs perf INDEX.html OUTDIR
//
// PLAN: { "file": input path, "false_box": [x,y,w,h] stored, "draw_box": [x,y,w,h] stored,
//         "draw_class": "person", "reviewer": "name" }
import { chromium } from "playwright-core";
import fs from "node:fs";
import path from "node:path";
import os from "node:os";
import { pathToFileURL } from "node:url";

const [mode, index, outdir, planPath] = process.argv.slice(2);
fs.mkdirSync(outdir, { recursive: true });
const profile = fs.mkdtempSync(path.join(os.tmpdir(), "pixla-chromium-"));
// a fresh profile folder per run (playwright passes it as --user-data-dir)
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.PIXLA_CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  acceptDownloads: true,
  viewport: { width: 1440, height: 900 },
});
const result = { mode, requests: { total: 0, other: [] }, console_errors: [] };
try {
  await context.grantPermissions(["clipboard-read", "clipboard-write"]).catch(() => {});
  const page = context.pages()[0] || (await context.newPage());
  // waits are for events; this long default only guards against a hang on a loaded machine
  page.setDefaultTimeout(300000);
  page.on("request", (r) => {
    result.requests.total++;
    if (!/^(file|blob|data):/.test(r.url())) result.requests.other.push(r.url());
  });
  page.on("console", (m) => { if (m.type() === "error") result.console_errors.push(m.text()); });
  page.on("pageerror", (e) => result.console_errors.push(String(e)));
  const url = pathToFileURL(path.resolve(index)).href;
  if (mode === "perf") await perf(page, url);
  else await roundtrip(page, url);
} finally {
  await context.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
console.log(JSON.stringify(result));

async function data(page) {
  return page.evaluate(() => JSON.parse(document.getElementById("pixla-data").textContent));
}

/** Screen point of a stored-pixel point of file `f` in the detail view. */
async function screenOf(page, f, x, y) {
  const r = await page.locator("#view").boundingBox();
  const m = f.m, det = m[0] * m[4] - m[1] * m[3];
  const u = x - m[2], v = y - m[5];
  const dx = (m[4] * u - m[1] * v) / det, dy = (-m[3] * u + m[0] * v) / det;
  return [r.x + (dx * r.width) / f.dw, r.y + (dy * r.height) / f.dh];
}

async function roundtrip(page, url) {
  const plan = JSON.parse(fs.readFileSync(planPath, "utf8"));
  await page.goto(url);
  await page.waitForFunction(() => window.pixlaReview);
  const D = await data(page);
  const fi = D.files.findIndex((f) => f.input === plan.file);
  if (fi < 0) throw new Error(`${plan.file} is not on the page`);
  const f = D.files[fi];
  // the grid, and each filter's count
  result.filters = {};
  for (const name of ["all", "regions", "none", "failed"]) {
    await page.click(`#filters button[data-f="${name}"]`);
    result.filters[name] = await page.locator("#grid .card:not(.hide)").count();
  }
  result.failed_placeholders = await page.locator("#grid .card.failed:not(.hide) .ph").allTextContents();
  await page.click('#filters button[data-f="all"]');
  await page.waitForFunction(() => [...document.querySelectorAll("#grid img")].every((i) => i.complete));
  await page.screenshot({ path: path.join(outdir, "review-grid.png") });

  // open the first file, then walk with the keyboard to the planned one
  await page.locator("#grid .card").first().click();
  const names = [await page.textContent("#name")];
  for (let k = 0; k < D.files.length && (await page.textContent("#name")) !== plan.file; k++) {
    await page.keyboard.press("n");
    names.push(await page.textContent("#name"));
  }
  // one step on and back (arrows and letters), whether or not the planned file is the last
  await page.keyboard.press("ArrowRight");
  if ((await page.textContent("#name")) !== plan.file) await page.keyboard.press("p");
  else { await page.keyboard.press("ArrowLeft"); await page.keyboard.press("n"); }
  result.walked = names;
  if ((await page.textContent("#name")) !== plan.file) throw new Error(`keyboard navigation did not reach ${plan.file}: ${names}`);
  await page.waitForFunction(() => document.getElementById("view").complete && document.getElementById("view").naturalWidth > 0);

  // mark the planned region false: click it on the image, else cycle with ] to it
  const j = f.regions.findIndex((r) => r.box.join() === plan.false_box.join());
  if (j < 0) throw new Error(`no region with box ${plan.false_box}`);
  const b = plan.false_box;
  const [cx, cy] = await screenOf(page, f, b[0] + b[2] / 2, b[1] + b[3] / 2);
  await page.mouse.click(cx, cy);
  result.selected_by_click = await page.getAttribute("#list li.sel", "data-k").catch(() => null);
  for (let k = 0; k < f.regions.length + 1 && (await page.getAttribute("#list li.sel", "data-k").catch(() => null)) !== `r${j}`; k++) await page.keyboard.press("]");
  await page.keyboard.press("f");
  result.marked_false = await page.locator(`#list li.false[data-k="r${j}"]`).count();

  // draw a box with the mouse
  await page.selectOption("#cls", plan.draw_class);
  await page.keyboard.press("d");
  const d = plan.draw_box;
  const [x1, y1] = await screenOf(page, f, d[0], d[1]);
  const [x2, y2] = await screenOf(page, f, d[0] + d[2], d[1] + d[3]);
  await page.mouse.move(x1, y1);
  await page.mouse.down();
  await page.mouse.move((x1 + x2) / 2, (y1 + y2) / 2, { steps: 4 });
  await page.mouse.move(x2, y2, { steps: 4 });
  await page.mouse.up();
  await page.keyboard.press("Escape"); // stop drawing
  result.added = await page.locator("#list li.added").allTextContents();
  await page.screenshot({ path: path.join(outdir, "review-detail.png") });

  // a file stored rotated (EXIF orientation): a box drawn on the upright picture, by its
  // display position only (the test checks where the pixels end up)
  if (plan.upright) {
    await page.keyboard.press("Escape"); // back to the grid
    await page.click(`#grid .card[title="${plan.upright.file}"]`);
    await page.waitForFunction(() => document.getElementById("view").complete && document.getElementById("view").naturalWidth > 0);
    const g = D.files.find((x) => x.input === plan.upright.file);
    const r = await page.locator("#view").boundingBox();
    const at = (x, y) => [r.x + (x * r.width) / g.dw, r.y + (y * r.height) / g.dh];
    const u = plan.upright.draw_display;
    await page.selectOption("#cls", plan.upright.draw_class);
    await page.keyboard.press("d");
    const [a1, b1] = at(u[0], u[1]);
    const [a2, b2] = at(u[0] + u[2], u[1] + u[3]);
    await page.mouse.move(a1, b1);
    await page.mouse.down();
    await page.mouse.move(a2, b2, { steps: 6 });
    await page.mouse.up();
    await page.keyboard.press("Escape");
    result.upright_added = await page.locator("#list li.added").allTextContents();
    result.upright_display = [g.dw, g.dh, g.o];
    await page.screenshot({ path: path.join(outdir, "review-detail-rotated.png") });
  }

  // export: the reviewer's name first, then download (and the copy path)
  await page.fill("#reviewer", plan.reviewer);
  await page.keyboard.press("Escape");
  const dlp = page.waitForEvent("download", { timeout: 300000 }).catch(async (e) => { throw new Error(`no download; status: ${await page.textContent("#status")}; ${e}`); });
  await page.click("#export");
  const dl = await dlp;
  result.download_name = dl.suggestedFilename();
  const saved = path.join(outdir, "pixla-regions.json");
  await dl.saveAs(saved);
  result.sidecar = saved;
  await page.click("#copy");
  // the page says which way it went: the clipboard, or the dialog to copy from
  await page.waitForFunction(() => document.getElementById("dlg").open || /copied to the clipboard/.test(document.getElementById("status").textContent), null, { timeout: 300000 });
  result.copy = (await page.locator("#dlg").getAttribute("open")) !== null
    ? { via: "dialog", text: await page.inputValue("#json") }
    : { via: "clipboard", text: await page.evaluate(() => navigator.clipboard.readText()).catch((e) => String(e)) };
  if (result.copy.via === "dialog") await page.click("#dlgclose");
  // back to the grid: the edited file is flagged; edits survive a reload (localStorage)
  await page.keyboard.press("Escape");
  result.detail_hidden = await page.locator("#detail").isHidden();
  await page.reload();
  await page.waitForFunction(() => window.pixlaReview);
  await page.click('#filters button[data-f="edited"]');
  result.edited_after_reload = await page.locator("#grid .card:not(.hide)").allTextContents();
  result.status_after_reload = await page.textContent("#status");
  await page.screenshot({ path: path.join(outdir, "review-grid-edited.png") });
}

async function perf(page, url) {
  const t0 = Date.now();
  await page.goto(url, { waitUntil: "load" });
  const wall_load = Date.now() - t0;
  await page.waitForFunction(() => window.pixlaReview);
  // every thumbnail in the first screen decoded
  await page.waitForFunction(() => {
    const imgs = [...document.querySelectorAll("#grid img")].filter((i) => { const r = i.getBoundingClientRect(); return r.top < innerHeight && r.bottom > 0; });
    return imgs.length > 0 && imgs.every((i) => i.complete && i.naturalWidth > 0);
  });
  const m = await page.evaluate(() => {
    const nav = performance.getEntriesByType("navigation")[0];
    const paint = Object.fromEntries(performance.getEntriesByType("paint").map((p) => [p.name, p.startTime]));
    const imgs = [...document.querySelectorAll("#grid img")];
    return {
      files: window.pixlaReview.files,
      cards: document.querySelectorAll("#grid .card").length,
      html_bytes: nav.transferSize || nav.encodedBodySize || document.documentElement.outerHTML.length,
      dom_content_loaded_ms: nav.domContentLoadedEventEnd,
      load_ms: nav.loadEventEnd,
      first_paint_ms: paint["first-paint"],
      first_contentful_paint_ms: paint["first-contentful-paint"],
      script_ready_ms: window.pixlaReview.ready,
      first_screen_thumbnails_ms: performance.now(),
      thumbnails_loaded_at_first_screen: imgs.filter((i) => i.complete && i.naturalWidth > 0).length,
    };
  });
  Object.assign(result, m, { wall_goto_load_ms: wall_load });
  await page.screenshot({ path: path.join(outdir, "review-2000-grid.png") });
  // responsiveness: a filter switch over all cards, a jump to the end, the last thumbnail
  let t = Date.now();
  await page.click('#filters button[data-f="regions"]');
  result.filter_regions_ms = Date.now() - t;
  result.filter_regions_cards = await page.locator("#grid .card:not(.hide)").count();
  await page.click('#filters button[data-f="all"]');
  t = Date.now();
  await page.keyboard.press("End");
  await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
  await page.waitForFunction(() => { const i = document.querySelector("#grid .card:last-child img"); return i && i.complete && i.naturalWidth > 0; });
  result.scroll_to_end_last_thumbnail_ms = Date.now() - t;
  result.thumbnails_loaded_after_scroll = await page.evaluate(() => [...document.querySelectorAll("#grid img")].filter((i) => i.complete && i.naturalWidth > 0).length);
  // open the last file and step with the keyboard
  t = Date.now();
  await page.locator("#grid .card").last().click();
  await page.waitForFunction(() => document.getElementById("view").complete && document.getElementById("view").naturalWidth > 0);
  result.open_detail_ms = Date.now() - t;
  t = Date.now();
  for (let k = 0; k < 20; k++) await page.keyboard.press("p");
  await page.waitForFunction(() => document.getElementById("view").complete && document.getElementById("view").naturalWidth > 0);
  result.twenty_keyboard_steps_ms = Date.now() - t;
  result.position = await page.textContent("#pos");
}
