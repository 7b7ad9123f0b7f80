import { openInspector } from "./inspector";

/** A V8 CPU profile (what Chrome DevTools and `--cpu-prof` write). */
export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

/**
 * Starts sampling the CPU of a process run with `--inspect` (its DevTools WebSocket URL), through
 * the inspector protocol: `--cpu-prof` would need the API to exit cleanly. Resolves to `stop()`.
 */
export async function startCpuProfile(inspectorUrl: string): Promise<() => Promise<CpuProfile>> {
  const inspector = await openInspector(inspectorUrl);
  await inspector.call("Profiler.enable");
  await inspector.call("Profiler.setSamplingInterval", { interval: 250 });
  await inspector.call("Profiler.start");
  return async () => {
    const { profile } = (await inspector.call("Profiler.stop")) as { profile: CpuProfile };
    inspector.close();
    return profile;
  };
}

/** Where the busy time went: self time by package (node_modules/<pkg>, the app, node, GC). */
export function summarizeProfile(profile: CpuProfile, top = 12): string {
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const byPackage = new Map<string, number>();
  let busy = 0;
  profile.samples.forEach((nodeId, i) => {
    const frame = frames.get(nodeId)!;
    if (frame.functionName === "(idle)") return;
    const micros = profile.timeDeltas[i] ?? 0;
    busy += micros;
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(frame.url)?.[1];
    const key =
      pkg ??
      (/\/(src|resolvers)\//.test(frame.url)
        ? "the app (src/, resolvers/)"
        : frame.url.startsWith("node:")
          ? "node core"
          : frame.functionName.startsWith("(")
            ? frame.functionName
            : "native code");
    byPackage.set(key, (byPackage.get(key) ?? 0) + micros);
  });
  const lines = [...byPackage]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, micros]) => `${((micros / busy) * 100).toFixed(1).padStart(5)} %  ${name}`);
  return [`busy ${(busy / 1000).toFixed(0)} ms, by package (self time):`, ...lines].join("\n");
}
