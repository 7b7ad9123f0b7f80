import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { renderGeneratedFiles } from "./generated-files";

/**
 * `npm run codegen`: writes src/generated/schema.graphql and src/generated/graphql.ts.
 * With `--check` it writes nothing and exits 1 when either file is stale (part of `npm test`).
 */
async function main(): Promise<number> {
  const check = process.argv.includes("--check");
  const stale: string[] = [];
  for (const file of await renderGeneratedFiles()) {
    const relative = path.relative(process.cwd(), file.path);
    if (check) {
      if (!existsSync(file.path) || readFileSync(file.path, "utf8") !== file.content) stale.push(relative);
      continue;
    }
    mkdirSync(path.dirname(file.path), { recursive: true });
    writeFileSync(file.path, file.content);
    console.log(`wrote ${relative}`);
  }
  if (stale.length > 0) {
    console.error(`stale generated files: ${stale.join(", ")}; run \`npm run codegen\` and commit them`);
    return 1;
  }
  if (check) console.log("generated files are up to date");
  return 0;
}

main().then(
  (status) => process.exit(status),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
