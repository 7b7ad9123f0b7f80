import { openInspector } from "./inspector";

/** Objects of one kind in a heap: how many, and their own (shallow) bytes. */
export interface HeapKind {
  count: number;
  bytes: number;
}

/**
 * Collects garbage in the process behind `inspectorUrl`, takes a heap snapshot and counts its
 * objects by kind ("object WebSocket", "closure onMessage", "(string)", "(array) (object
 * properties)", …): two such counts, before and after adding N of something, say what each one
 * costs, object by object. Taking the snapshot allocates a lot in the process: read its RSS before.
 */
export async function heapByKind(inspectorUrl: string): Promise<Map<string, HeapKind>> {
  const inspector = await openInspector(inspectorUrl);
  const chunks: string[] = [];
  inspector.on("HeapProfiler.addHeapSnapshotChunk", (params: { chunk: string }) => chunks.push(params.chunk));
  try {
    await inspector.call("HeapProfiler.collectGarbage");
    await inspector.call("HeapProfiler.collectGarbage");
    await inspector.call("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
  } finally {
    inspector.close();
  }
  const snapshot = JSON.parse(chunks.join("")) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
    strings: string[];
  };
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const [type, name, size] = ["type", "name", "self_size"].map((field) => fields.indexOf(field));
  const kinds = new Map<string, HeapKind>();
  for (let i = 0; i < snapshot.nodes.length; i += fields.length) {
    const kind = kindOf(types[snapshot.nodes[i + type]], snapshot.strings[snapshot.nodes[i + name]]);
    const entry = kinds.get(kind) ?? { count: 0, bytes: 0 };
    entry.count += 1;
    entry.bytes += snapshot.nodes[i + size];
    kinds.set(kind, entry);
  }
  return kinds;
}

function kindOf(type: string, name: string): string {
  if (type.endsWith("string")) return "(string)";
  if (type === "closure") return `closure ${name}`;
  if (type === "array") return `(array) ${name}`;
  if (type === "code") return "(code)";
  return `${type} ${name}`;
}

/** What grew from `before` to `after`, per one of `per` things added, largest first. */
export function heapGrowth(before: Map<string, HeapKind>, after: Map<string, HeapKind>, per: number) {
  return [...after]
    .map(([kind, now]) => {
      const was = before.get(kind) ?? { count: 0, bytes: 0 };
      return { kind, objects: (now.count - was.count) / per, bytes: (now.bytes - was.bytes) / per };
    })
    .sort((a, b) => b.bytes - a.bytes);
}
