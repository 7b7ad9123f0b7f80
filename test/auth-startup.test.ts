import { spawnSync } from "node:child_process";
import path from "node:path";
import { buildApp } from "../src/app";
import { createLogger } from "../src/logger";
import { disposeAll, onDispose, testConfig } from "./support/harness";

/** What the API says, or refuses, at startup about authentication. */

afterAll(disposeAll);

/** Builds and starts an app whose log lines are collected. */
async function startupLog(overrides: Parameters<typeof testConfig>[0]): Promise<{ level: string; message: string }[]> {
  const lines: string[] = [];
  const app = await buildApp(testConfig(overrides), { logger: createLogger("info", (l) => lines.push(l)) });
  onDispose(() => app.stop());
  await app.start(0);
  return lines.map((l) => JSON.parse(l) as { level: string; message: string });
}

describe("startup", () => {
  it("warns once that authentication is off when no AUTH_* is set on a loopback HOST", async () => {
    const warnings = (await startupLog({ host: "127.0.0.1", auth: { mode: "off" } })).filter((l) =>
      l.message.startsWith("AUTH OFF"),
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.level).toBe("warn");
    expect(warnings[0]!.message).toContain('"anonymous"');
  });

  it("does not warn when tokens are required", async () => {
    const log = await startupLog({
      auth: {
        mode: "secret",
        secret: "s".repeat(32),
        issuer: undefined,
        audience: undefined,
        clockToleranceSeconds: 30,
      },
    });
    expect(log.filter((l) => l.message.startsWith("AUTH OFF"))).toEqual([]);
  });

  it("refuses to start on a non-loopback HOST with no AUTH_*, naming the variables", () => {
    const env: NodeJS.ProcessEnv = { ...process.env, HOST: "0.0.0.0", PORT: "0", LOG_LEVEL: "warn" };
    for (const name of Object.keys(env)) if (name.startsWith("AUTH_")) delete env[name];
    const result = spawnSync(process.execPath, ["--import", "tsx", "src/index.ts"], {
      cwd: path.join(__dirname, ".."),
      env,
      encoding: "utf8",
      timeout: 60000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("HOST=0.0.0.0");
    expect(result.stderr).toContain("AUTH_DISABLED=true");
  });
});
