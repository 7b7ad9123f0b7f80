import { spawnSync } from "node:child_process";
import type { Logger } from "../logger";
import { hasCommand } from "./process";

/** Thrown when a Debian package is missing and cannot be installed here. */
export class PackageUnavailableError extends Error {
  override name = "PackageUnavailableError";
}

/** How long to wait for another apt-get or dpkg (unattended upgrades, a parallel install) to finish. */
const LOCK_WAIT_MS = 600_000;

/** What apt-get says when another process holds one of its locks. */
const LOCKED = /Could not get lock|Unable to lock|Unable to acquire the dpkg frontend lock/;

/** Package lists are refreshed once per process. */
let listsUpdated = false;

/**
 * Makes sure `command` is on the PATH, installing Debian's `pkg` with apt-get when it is not (as
 * root). The package lists are refreshed first, once per process: on a fresh machine they are
 * missing or stale, and apt-get would install nothing ("packages cannot be authenticated").
 * Another apt-get or dpkg that holds the locks is waited for, up to 10 minutes, rather than failed
 * on.
 * @throws PackageUnavailableError when it is missing and cannot be installed: not root, no
 *   apt-get, or apt-get failed (its output is on stderr).
 */
export function ensureDebianPackage(command: string, pkg: string, logger: Logger): void {
  if (hasCommand(command)) return;
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  if (!isRoot || !hasCommand("apt-get")) {
    throw new PackageUnavailableError(
      `${command} is not installed and cannot be installed here (needs root and apt-get): install ${pkg}`,
    );
  }
  if (!listsUpdated) {
    logger.info("refreshing the package lists (apt-get update)");
    if (!runAptGet(["update", "-q"], logger)) throw new PackageUnavailableError("apt-get update failed");
    listsUpdated = true;
  }
  logger.info(`installing ${pkg} with apt-get`);
  if (!runAptGet(["install", "-y", "-q", pkg], logger) || !hasCommand(command)) {
    throw new PackageUnavailableError(`apt-get install ${pkg} failed`);
  }
}

/**
 * Runs apt-get non-interactively; while another process holds the apt or dpkg locks, waits and
 * tries again, up to `lockWaitMs`. dpkg's own lock is waited for by apt-get itself
 * (DPkg::Lock::Timeout); the package lists' and archives' locks are not, hence the retries.
 * Its output goes to this process's stdout/stderr.
 * @returns whether apt-get succeeded.
 */
export function runAptGet(args: string[], logger: Logger, lockWaitMs = LOCK_WAIT_MS): boolean {
  const deadline = Date.now() + lockWaitMs;
  const lockTimeoutS = String(Math.ceil(lockWaitMs / 1000));
  for (;;) {
    const result = spawnSync("apt-get", ["-o", `DPkg::Lock::Timeout=${lockTimeoutS}`, ...args], {
      stdio: ["ignore", "inherit", "pipe"],
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
      encoding: "utf8",
    });
    process.stderr.write(result.stderr ?? "");
    if (result.status === 0) return true;
    if (!LOCKED.test(result.stderr ?? "") || Date.now() >= deadline) return false;
    logger.info("another apt-get or dpkg holds the package locks; waiting", { command: `apt-get ${args.join(" ")}` });
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5000); // a synchronous sleep
  }
}
