/**
 * The unit tier: pure logic in test/unit, no services, runs in seconds (`npm run test:unit`).
 * `jest.config.js` runs it as one of its two projects.
 */
module.exports = {
  displayName: "unit",
  rootDir: __dirname,
  testEnvironment: "node",
  roots: ["<rootDir>/test/unit"],
  testMatch: ["**/*.test.ts"],
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "<rootDir>/tsconfig.json" }] },
  // Applies when this file is the config run (npm run test:unit); jest.config.js sets its own.
  testTimeout: 10000,
};
