import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import express from "express";
import { createWebAssets, wantsHtml } from "../../src/server/web-assets";

let dir: string;
let server: Server;
let origin: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "web-assets-"));
  mkdirSync(path.join(dir, "app", "assets"), { recursive: true });
  writeFileSync(
    path.join(dir, "app", "index.html"),
    '<script type="application/json" id="c"><!--PAGE_CONFIG--></script>',
  );
  writeFileSync(path.join(dir, "app", "main.js"), "console.log(1)");
  writeFileSync(path.join(dir, "app", "assets", "font-ABC.ttf"), "ttf");
  writeFileSync(path.join(dir, "app", ".source-hash"), "x");
  const web = createWebAssets({ dir, urlPrefix: "/web" });
  const app = express();
  app.use("/web", web.files);
  app.get("/page/:app", (req, res, next) =>
    web.page(req.params.app, () => ({ evil: "</script><script>alert(1)</script>" }))(req, res, next),
  );
  app.get("/html", (req, res) => res.json({ html: wantsHtml(req) }));
  server = app.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

describe("web assets", () => {
  it("fills the page config in as JSON that cannot close its script element", async () => {
    const res = await fetch(`${origin}/page/app`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("content-security-policy")).toMatch(/^default-src 'self'/);
    const html = await res.text();
    expect(html).not.toContain("</script><script>");
    const json = /id="c">(.*)<\/script>$/.exec(html)![1];
    expect(JSON.parse(json)).toEqual({ evil: "</script><script>alert(1)</script>" });
  });

  it("answers 503 with how to build it when an app is not built", async () => {
    const res = await fetch(`${origin}/page/missing`);
    expect(res.status).toBe(503);
    expect(await res.text()).toContain("npm run build:web");
  });

  it("serves files with their content type: entry points revalidated, hashed assets cached for good", async () => {
    const js = await fetch(`${origin}/web/app/main.js`);
    expect(js.headers.get("content-type")).toMatch(/^text\/javascript/);
    expect(js.headers.get("cache-control")).toBe("no-cache");
    const font = await fetch(`${origin}/web/app/assets/font-ABC.ttf`);
    expect(font.headers.get("content-type")).toBe("font/ttf");
    expect(font.headers.get("cache-control")).toMatch(/immutable/);
  });

  it("does not serve the page template or the build stamp as files", async () => {
    expect((await fetch(`${origin}/web/app/index.html`)).status).toBe(404);
    expect((await fetch(`${origin}/web/app/.source-hash`)).status).toBe(404);
  });

  it("tells a browser navigation from an API call", async () => {
    const ask = async (accept: string) =>
      ((await (await fetch(`${origin}/html`, { headers: { accept } })).json()) as { html: boolean }).html;
    expect(await ask("text/html,application/xhtml+xml,*/*;q=0.8")).toBe(true);
    expect(await ask("application/json")).toBe(false);
    expect(await ask("*/*")).toBe(false);
  });
});
