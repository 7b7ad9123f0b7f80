/**
 * Monaco (GraphiQL 5's editor) runs its language services in web workers. They are bundled as
 * their own entry points next to main.js (see src/web/build.ts) and loaded from this origin, so
 * no request leaves the machine (GraphiQL's own setups load them from esm.sh or via a bundler
 * plugin).
 */
const base = new URL(".", import.meta.url);

const workerFor = (label: string): string => {
  if (label === "json") return "json.worker.js";
  if (label === "graphql") return "graphql.worker.js";
  return "editor.worker.js";
};

(globalThis as unknown as { MonacoEnvironment: unknown }).MonacoEnvironment = {
  getWorker(_workerId: string, label: string): Worker {
    return new Worker(new URL(workerFor(label), base), { type: "module", name: label });
  },
};
