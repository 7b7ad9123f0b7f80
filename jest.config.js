/**
 * Two tiers, as two projects. `unit` (test/unit, see jest.unit.config.js) is pure logic and needs
 * no services. `integration` (the rest of test/) runs against the real Neo4j and Redis that
 * `npm test` provides. `npx jest test/x.test.ts` runs one file of either tier.
 */
module.exports = {
  maxWorkers: 2,
  // Jest reads the test timeout from the run's top-level config only, not from a project.
  testTimeout: 60000,
  projects: [
    require("./jest.unit.config.js"),
    {
      displayName: "integration",
      rootDir: __dirname,
      testEnvironment: "node",
      roots: ["<rootDir>/test"],
      testMatch: ["**/*.test.ts"],
      testPathIgnorePatterns: ["/node_modules/", "<rootDir>/test/unit/"],
      // Builds the browser pages (GraphiQL…) when stale, for the tests that load them.
      globalSetup: "<rootDir>/test/support/build-web.ts",
      transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "<rootDir>/tsconfig.json" }] },
    },
  ],
};
