import { disposeAll, startApp, type RunningApp } from "./support/harness";
import { openAcked, openRaw } from "./support/raw-ws";

/** CORS_ORIGINS on HTTP (CORS headers, preflight) and at the WebSocket upgrade (Origin check). */
const ALLOWED = "https://app.example.com";
const OTHER = "https://evil.example.net";
let listed: RunningApp;
let defaults: RunningApp;

beforeAll(async () => {
  [listed, defaults] = await Promise.all([startApp({ corsOrigins: [ALLOWED] }), startApp()]);
});
afterAll(disposeAll);

const post = (url: string, origin: string) =>
  fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", origin },
    body: JSON.stringify({ query: "{ __typename }" }),
  });

const preflight = (url: string, origin: string) =>
  fetch(url, {
    method: "OPTIONS",
    headers: {
      origin,
      "access-control-request-method": "POST",
      "access-control-request-headers": "content-type,authorization",
    },
  });

describe("CORS on HTTP", () => {
  it("gives a listed origin CORS headers with credentials, and a 204 preflight allowing POST and its headers", async () => {
    const res = await post(listed.url, ALLOWED);
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    expect(res.headers.get("access-control-allow-credentials")).toBe("true");
    expect(res.headers.get("vary")).toMatch(/origin/i);
    const pre = await preflight(listed.url, ALLOWED);
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    expect(pre.headers.get("access-control-allow-methods")).toMatch(/POST/);
    expect(pre.headers.get("access-control-allow-headers")).toMatch(/content-type/i);
  });

  it("gives another origin no CORS headers, on requests and preflights", async () => {
    for (const app of [listed, defaults]) {
      const res = await post(app.url, OTHER);
      expect(res.headers.get("access-control-allow-origin")).toBeNull();
      const pre = await preflight(app.url, OTHER);
      expect(pre.headers.get("access-control-allow-origin")).toBeNull();
      expect(pre.headers.get("access-control-allow-methods")).toBeNull();
    }
    // By default (no CORS_ORIGINS) not even the origin listed elsewhere gets any.
    expect((await post(defaults.url, ALLOWED)).headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("Origin at the WebSocket upgrade", () => {
  it("refuses a cross-origin upgrade with HTTP 403 before the handshake", async () => {
    for (const app of [listed, defaults]) {
      await expect(openRaw(app.wsUrl, { origin: OTHER })).rejects.toMatchObject({ status: 403 });
    }
    await expect(openRaw(defaults.wsUrl, { origin: ALLOWED })).rejects.toMatchObject({ status: 403 });
  });

  it("accepts a listed origin, the same origin (the Origin's host is the Host header) and no Origin", async () => {
    await openAcked(listed.wsUrl, { origin: ALLOWED });
    const self = new URL(defaults.url).origin;
    await openAcked(defaults.wsUrl, { origin: self });
    await openAcked(defaults.wsUrl);
  });

  it("compares the whole host: the same name on another port is another origin", async () => {
    const url = new URL(defaults.url);
    const otherPort = `${url.protocol}//${url.hostname}:${Number(url.port) === 65535 ? 1 : Number(url.port) + 1}`;
    await expect(openRaw(defaults.wsUrl, { origin: otherPort })).rejects.toMatchObject({ status: 403 });
  });
});
