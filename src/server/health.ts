import type { Request, Response } from "express";

/** A dependency the readiness probe checks. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<boolean>;
}

/** GET /healthz: the process is alive and serving. */
export function healthz(_req: Request, res: Response): void {
  res.json({ status: "ok" });
}

/** GET /readyz: 200 when every dependency answers, 503 (with which one failed) otherwise. */
export function readyz(checks: ReadinessCheck[], isStopping: () => boolean) {
  return async (_req: Request, res: Response): Promise<void> => {
    const results = await Promise.all(checks.map(async (c) => [c.name, await c.check().catch(() => false)] as const));
    const dependencies = Object.fromEntries(results.map(([name, ok]) => [name, ok ? "up" : "down"]));
    const ready = !isStopping() && results.every(([, ok]) => ok);
    res
      .status(ready ? 200 : 503)
      .json({ status: ready ? "ready" : isStopping() ? "stopping" : "degraded", dependencies });
  };
}
