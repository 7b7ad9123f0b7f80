import { createLogger } from "../src/logger";
import { migrate, readMigrations } from "../src/infra/migrations";
import { disposeAll, testConfig, testDriver } from "./support/harness";

afterAll(disposeAll);

describe("the Neo4j the project runs", () => {
  it("has the APOC plugin loaded", async () => {
    const { records } = await testDriver().executeQuery("RETURN apoc.version() AS version");
    expect(records[0].get("version")).toMatch(/^5\.26\./);
  });

  it("is Neo4j 5.26", async () => {
    const info = await testDriver().getServerInfo();
    expect(info.protocolVersion).toBeGreaterThanOrEqual(5);
    const { records } = await testDriver().executeQuery(
      "CALL dbms.components() YIELD name, versions RETURN name, versions[0] AS version",
    );
    expect(records[0].get("version")).toMatch(/^5\.26\./);
  });
});

describe("migrations", () => {
  it("are recorded in the database and each runs once", async () => {
    const driver = testDriver();
    const config = testConfig();
    const logger = createLogger("silent");
    // The app has migrated this database already (every test app runs migrate at start).
    await migrate(driver, config.neo4j.database, logger);
    expect(await migrate(driver, config.neo4j.database, logger)).toEqual([]);
    const { records } = await driver.executeQuery(
      "MATCH (m:Migration) RETURN m.version AS v, m.name AS name ORDER BY v",
    );
    const files = readMigrations();
    expect(records.map((r) => r.get("name"))).toEqual(files.map((m) => m.name));
  });

  it("create the constraints and indexes the hot queries use", async () => {
    const { records } = await testDriver().executeQuery(
      "SHOW INDEXES YIELD name, labelsOrTypes, properties, state RETURN name, properties, state",
    );
    const byName = new Map(records.map((r) => [r.get("name"), r.toObject()]));
    for (const name of [
      "workflow_node_id",
      "workflow_id",
      "workflow_node_workflow_seq",
      "workflow_node_branch",
      "workflow_node_timestamp",
      "workflow_node_type",
    ]) {
      expect(byName.get(name)?.state).toBe("ONLINE");
    }
    expect(byName.get("workflow_node_workflow_seq")?.properties).toEqual(["workflowId", "seq"]);
  });

  it("are safe when several instances migrate at once", async () => {
    const driver = testDriver();
    const database = testConfig().neo4j.database;
    const version = 8000 + Math.floor(Math.random() * 900);
    const label = `Probe${version}`;
    const probe = [
      {
        version,
        name: "concurrent_probe",
        statements: [`CREATE INDEX probe_${version} IF NOT EXISTS FOR (n:${label}) ON (n.x)`],
      },
    ];
    try {
      const results = await Promise.all(
        Array.from({ length: 4 }, () => migrate(driver, database, createLogger("silent"), probe)),
      );
      expect(results.flat().every((name) => name === "concurrent_probe")).toBe(true);
      const { records } = await driver.executeQuery("MATCH (m:Migration {version: $version}) RETURN count(m) AS c", {
        version,
      });
      expect(records[0].get("c")).toBe(1);
    } finally {
      await driver.executeQuery(`DROP INDEX probe_${version} IF EXISTS`, {}, { database });
      await driver.executeQuery("MATCH (m:Migration {version: $version}) DELETE m", { version }, { database });
    }
  });

  it("apply a version not recorded yet, record it, and skip it the next time", async () => {
    const driver = testDriver();
    const database = testConfig().neo4j.database;
    const probe = [{ version: 9000 + Math.floor(Math.random() * 900), name: "probe", statements: ["RETURN 1"] }];
    try {
      expect(await migrate(driver, database, createLogger("silent"), probe)).toEqual(["probe"]);
      expect(await migrate(driver, database, createLogger("silent"), probe)).toEqual([]);
    } finally {
      await driver.executeQuery("MATCH (m:Migration {version: $v}) DELETE m", { v: probe[0].version }, { database });
    }
  });
});
