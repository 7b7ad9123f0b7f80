import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { onDispose } from "./harness";

export interface ApiProcess {
  child: ChildProcess;
  url: string;
  wsUrl: string;
  /** Sends a signal and resolves with the exit code. */
  signal(signal: NodeJS.Signals): Promise<number | null>;
  output(): string;
}

/**
 * Runs the production entry point (src/index.ts) as a separate OS process on a free port,
 * pointed at the test Neo4j and Redis.
 */
export function spawnApi(env: Record<string, string> = {}): Promise<ApiProcess> {
  const root = path.join(__dirname, "../..");
  const child = spawn(process.execPath, ["--import", "tsx", "src/index.ts"], {
    cwd: root,
    // NODE_ENV=production as in a deployment (jest sets "test", which changes library defaults).
    env: { ...process.env, NODE_ENV: "production", PORT: "0", LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  onDispose(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await exited;
    }
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`API process did not start:\n${output}`)), 60000);
    child.stderr!.on("data", (chunk) => (output += chunk));
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk;
      const line = chunk
        .toString()
        .split("\n")
        .find((l) => l.includes('"listening"'));
      if (!line) return;
      clearTimeout(timer);
      const { url } = JSON.parse(line) as { url: string };
      resolve({
        child,
        url,
        wsUrl: url.replace(/^http/, "ws"),
        output: () => output,
        signal(signal) {
          child.kill(signal);
          return exited;
        },
      });
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`API process exited (${code}) before listening:\n${output}`));
    });
  });
}
