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
  testTimeout: 10000,
};
