import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync } from "node:fs";
import path from "node:path";
import { createConnection } from "node:net";

/** A service the project started (or found running), and how to stop it. */
export interface LocalService {
  name: string;
  url: string;
  /** True when it was already running and is left running on stop. */
  reused: boolean;
  stop(): Promise<void>;
}

/** True when something accepts TCP connections on host:port. */
export function isPortOpen(port: number, host = "127.0.0.1", timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/** True when `command` is on the PATH. */
export function hasCommand(command: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
}

export interface SpawnReadyOptions {
  name: string;
  command: string;
  args: string[];
  cwd?: string;
  logFile: string;
  /** The child is ready once this test passes (checked on each output line and on a timer). */
  ready: (line: string | undefined) => boolean | Promise<boolean>;
  timeoutMs: number;
}

/**
 * Spawns a long-running child, copies its output to a log file, and resolves once it is ready.
 * @throws Error with the end of its log when it exits or times out first.
 */
export async function spawnReady(options: SpawnReadyOptions): Promise<ChildProcess> {
  mkdirSync(path.dirname(options.logFile), { recursive: true });
  const log = createWriteStream(options.logFile, { flags: "a" });
  // stdin is a pipe held by this process: the child (or its wrapper) exits when it reaches EOF,
  // which happens however this process ends, so no service outlives the process that started it.
  const child = spawn(options.command, options.args, { cwd: options.cwd, stdio: ["pipe", "pipe", "pipe"] });
  const tail: string[] = [];
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (error?: Error) => {
      if (settled) return;
      settled = true;
      clearInterval(poll);
      clearTimeout(timer);
      if (error) {
        child.kill("SIGKILL");
        reject(error);
      } else resolve(child);
    };
    const check = async (line?: string) => {
      try {
        if (!settled && (await options.ready(line))) settle();
      } catch {
        /* not ready yet */
      }
    };
    const onData = (chunk: Buffer) => {
      log.write(chunk);
      for (const line of chunk.toString().split("\n")) {
        if (!line) continue;
        tail.push(line);
        if (tail.length > 30) tail.shift();
        void check(line);
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("error", (error) => settle(new Error(`${options.name} could not be started: ${error.message}`)));
    child.once("exit", (code, signal) =>
      settle(new Error(`${options.name} exited (${signal ?? code}) before it was ready:\n${tail.join("\n")}`)),
    );
    const poll = setInterval(() => void check(undefined), 500);
    const timer = setTimeout(
      () => settle(new Error(`${options.name} was not ready within ${options.timeoutMs} ms:\n${tail.join("\n")}`)),
      options.timeoutMs,
    );
  });
}

/** Sends SIGTERM and waits for the exit; SIGKILL after `graceMs`. */
export function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.stdin?.end();
    child.kill("SIGTERM");
  });
}
