import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";

/** The API under test, running as its own OS process (so its memory is measured on its own). */
export interface ApiProcess {
  pid: number;
  url: string;
  wsUrl: string;
  /** Resident set size now, in MB (VmRSS of /proc/<pid>/status). */
  rssMB(): number;
  /** SIGTERM, then SIGKILL if it has not exited within 5 s. @returns whether it exited by itself. */
  stop(): Promise<boolean>;
  /** What it printed on stderr (the last 50 kB or more). */
  output(): string;
  /** Its inspector's WebSocket URL, when started with `inspect` (for CPU profiles). */
  inspectorUrl?: string;
}

const REPO_ROOT = path.resolve(__dirname, "../..");

/**
 * Starts the production entry point as the Dockerfile does (`node --import tsx src/index.ts`,
 * NODE_ENV=production: graphql-js's development-mode checks cost a lot on large results) on a free
 * port against the given Neo4j and Redis, and resolves once it prints its "listening" line.
 */
export function spawnApi(
  env: { NEO4J_URI: string; REDIS_URL: string } & Record<string, string>,
  options: { inspect?: boolean } = {},
): Promise<ApiProcess> {
  const inspect = options.inspect ? ["--inspect=127.0.0.1:0"] : [];
  const child: ChildProcess = spawn(process.execPath, [...inspect, "--import", "tsx", "src/index.ts"], {
    cwd: REPO_ROOT,
    env: { ...process.env, NODE_ENV: "production", PORT: "0", LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.stderr!.on("data", (chunk: Buffer) => {
    output += chunk;
    if (output.length > 100000) output = output.slice(-50000);
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`API did not start within 90 s:\n${output}`));
    }, 90000);
    let stdout = "";
    let listening = false;
    child.stdout!.on("data", (chunk: Buffer) => {
      if (listening) return;
      stdout += chunk;
      const line = stdout.split("\n").find((l) => l.includes('"listening"'));
      if (!line) return;
      listening = true;
      clearTimeout(timer);
      const { url } = JSON.parse(line) as { url: string };
      const inspectorUrl = /ws:\/\/127\.0\.0\.1:\d+\/[\w-]+/.exec(output)?.[0];
      resolve({
        pid: child.pid!,
        ...(inspectorUrl ? { inspectorUrl } : {}),
        url,
        wsUrl: url.replace(/^http/, "ws"),
        rssMB: () => rssMB(child.pid!),
        output: () => output,
        async stop() {
          if (child.exitCode !== null || child.signalCode !== null) return true;
          let graceful = true;
          child.kill("SIGTERM");
          const killer = setTimeout(() => {
            graceful = false;
            child.kill("SIGKILL");
          }, 5000);
          await exited;
          clearTimeout(killer);
          return graceful;
        },
      });
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      if (!listening) reject(new Error(`API exited (${code}) before listening:\n${output}`));
    });
  });
}

export function rssMB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1]);
  return kb / 1024;
}
