import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { renderGeneratedFiles } from "../graphql/generated-files";

/** `npm run codegen`: writes src/generated/schema.graphql and src/generated/graphql.ts. */
async function main(): Promise<void> {
  for (const file of await renderGeneratedFiles()) {
    mkdirSync(path.dirname(file.path), { recursive: true });
    writeFileSync(file.path, file.content);
    console.log(`wrote ${path.relative(process.cwd(), file.path)}`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
