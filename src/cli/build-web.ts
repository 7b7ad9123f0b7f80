import { buildWeb } from "../web/build";

/** `npm run build:web [-- --force]`: builds the browser bundles (GraphiQL, …) into .data/web/. */
buildWeb({ force: process.argv.includes("--force"), log: (line) => process.stdout.write(line + "\n") }).then(
  (built) => {
    for (const app of built.filter((a) => !a.rebuilt)) process.stdout.write(`${app.name} is up to date\n`);
  },
  (error) => {
    process.stderr.write(`build:web failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
