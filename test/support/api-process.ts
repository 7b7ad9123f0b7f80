import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";

/**
 * Launching the production entry point as an OS process, for tests (a second instance, a kill -9)
 * and benchmarks (memory measured on its own, CPU profiles). Free of jest: bench/ imports it.
 */

/** The API running as its own OS process. */
export interface ApiProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** The port it listens on (read back from its "listening" line). */
  readonly port: number;
  readonly url: string;
  readonly wsUrl: string;
  /** Its inspector's WebSocket URL, when started with `inspect` (for CPU profiles). */
  readonly inspectorUrl?: string;
  /** Resolves with the exit code (null when a signal ended it) once it has exited. */
  readonly exited: Promise<number | null>;
  /** Sends a signal and resolves with the exit code. */
  signal(signal: NodeJS.Signals): Promise<number | null>;
  /**
   * SIGTERM, then SIGKILL if it has not exited within `graceMs`.
   * @returns whether it exited by itself (false when it had to be killed)
   */
  stop(graceMs?: number): Promise<boolean>;
  /** Resident set size now, in MB (VmRSS of /proc/<pid>/status). */
  rssMB(): number;
  /** What it printed on stdout and stderr (the last 50 kB or more). */
  output(): string;
}

export interface SpawnApiOptions {
  /** NEO4J_URI, REDIS_URL and any other variable, on top of this process's environment. */
  env: { NEO4J_URI: string; REDIS_URL: string } & Record<string, string>;
  /** @default 0 (a free port) */
  port?: number;
  /** Starts node with `--inspect=127.0.0.1:0`. @default false */
  inspect?: boolean;
  /** Registers the final kill (the test harness's `onDispose`), so the process cannot outlive the test. */
  onDispose?: (dispose: () => Promise<void>) => void;
  /** Called when it exits after it was listening (to report a crash). */
  onExit?: (code: number | null, signal: NodeJS.Signals | null) => void;
  /** @default 90000 */
  startTimeoutMs?: number;
}

const REPO_ROOT = path.resolve(__dirname, "../..");

/**
 * Starts src/index.ts as the Dockerfile does (`node --import tsx src/index.ts`, NODE_ENV=production:
 * jest sets "test", and graphql-js's development-mode checks cost a lot on large results) and
 * resolves once it prints its "listening" line.
 * @throws Error with its output when it exits or times out before listening
 */
export function spawnApi(options: SpawnApiOptions): Promise<ApiProcess> {
  // Sentinel or Cluster settings of this process would override the REDIS_URL given.
  const { REDIS_SENTINELS: _sentinels, REDIS_CLUSTER_NODES: _cluster, ...inherited } = process.env;
  const inspect = options.inspect ? ["--inspect=127.0.0.1:0"] : [];
  const child = spawn(process.execPath, [...inspect, "--import", "tsx", "src/index.ts"], {
    cwd: REPO_ROOT,
    env: {
      ...inherited,
      NODE_ENV: "production",
      LOG_LEVEL: "warn",
      ...options.env,
      PORT: String(options.port ?? 0),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const record = (chunk: Buffer) => {
    output += chunk;
    if (output.length > 100000) output = output.slice(-50000);
  };
  child.stderr!.on("data", record);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const running = () => child.exitCode === null && child.signalCode === null;
  options.onDispose?.(async () => {
    if (running()) child.kill("SIGKILL");
    await exited;
  });

  return new Promise((resolve, reject) => {
    const timeoutMs = options.startTimeoutMs ?? 90000;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`API process did not start within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    let stdout = "";
    let listening = false;
    child.stdout!.on("data", (chunk: Buffer) => {
      record(chunk);
      if (listening) return;
      stdout += chunk;
      const line = stdout.split("\n").find((l) => l.includes('"listening"'));
      if (!line) return;
      listening = true;
      clearTimeout(timer);
      const { url, port } = JSON.parse(line) as { url: string; port: number };
      const inspectorUrl = /ws:\/\/127\.0\.0\.1:\d+\/[\w-]+/.exec(output)?.[0];
      resolve({
        child,
        pid: child.pid!,
        port,
        url,
        wsUrl: url.replace(/^http/, "ws"),
        ...(inspectorUrl ? { inspectorUrl } : {}),
        exited,
        output: () => output,
        rssMB: () => rssMB(child.pid!),
        signal(signal) {
          if (running()) child.kill(signal);
          return exited;
        },
        async stop(graceMs = 5000) {
          if (!running()) return true;
          let graceful = true;
          const killer = setTimeout(() => {
            graceful = false;
            child.kill("SIGKILL");
          }, graceMs);
          child.kill("SIGTERM");
          await exited;
          clearTimeout(killer);
          return graceful;
        },
      });
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      if (!listening) reject(new Error(`API process exited (${signal ?? code}) before listening:\n${output}`));
      else options.onExit?.(code, signal);
    });
  });
}

/** Resident set size of a process, in MB (VmRSS of /proc/<pid>/status). */
export function rssMB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1]);
  return kb / 1024;
}
