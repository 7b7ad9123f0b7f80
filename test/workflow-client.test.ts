import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import { createWorkflowClient, WorkflowClientError } from "../src/client/workflow-client";
import type { Driver } from "neo4j-driver";
import { disposeAll, newWorkflow, onDispose, startApp, testDriver, type RunningApp } from "./support/harness";

/**
 * The typed client's emit against real API instances: it moves on to the next URL when one does
 * not answer or fails on its side, never when the server rejects the request itself.
 */

afterAll(disposeAll);

let stopped: RunningApp;
let running: RunningApp;
let driver: Driver;

beforeAll(async () => {
  driver = testDriver();
  [stopped, running] = await Promise.all([startApp(), startApp()]);
  await stopped.app.stop();
});

/** How many nodes with this id are stored. */
async function stored(id: string): Promise<number> {
  const { records } = await driver.executeQuery("MATCH (n:WorkflowNode {id: $id}) RETURN count(n) AS c", { id });
  return records[0].get("c") as number;
}

/** A plain HTTP server that answers every request with `status` (a proxy in front of a dead instance). */
async function answering(status: number): Promise<string> {
  const server = createServer((_req, res) => res.writeHead(status).end("upstream unavailable"));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  onDispose(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
}

describe("emit with several URLs", () => {
  it("writes through the second instance when the first is stopped, once", async () => {
    const { workflowId, rootId } = await newWorkflow(running.url);
    const client = createWorkflowClient({ url: [stopped.url, running.url] });
    onDispose(() => client.close());

    const first = await client.emit({ workflowId, parentId: rootId, type: "MESSAGE", content: "one" });
    const second = await client.emit({ workflowId, parentId: first.id, type: "MESSAGE", content: "two" });

    expect([first.seq, second.seq]).toEqual([1, 2]);
    expect(await stored(first.id)).toBe(1);
    expect(await stored(second.id)).toBe(1);
  });

  it("moves on from an HTTP 502 answer to the next instance", async () => {
    const { workflowId, rootId } = await newWorkflow(running.url);
    const client = createWorkflowClient({ url: [await answering(502), running.url] });
    onDispose(() => client.close());

    const id = randomUUID();
    const node = await client.emit({ id, workflowId, parentId: rootId, type: "MESSAGE", content: "through" });

    expect(node).toMatchObject({ id, seq: 1 });
    expect(await stored(id)).toBe(1);
  });

  it("does not resend a request the server rejected: NOT_FOUND comes back as it is", async () => {
    const { workflowId } = await newWorkflow(running.url);
    // Were it resent, the stopped instance would answer with a connection error instead.
    const client = createWorkflowClient({ url: [running.url, stopped.url] });
    onDispose(() => client.close());

    const id = randomUUID();
    const emitted = client.emit({ id, workflowId, parentId: randomUUID(), type: "MESSAGE", content: "orphan" });

    await expect(emitted).rejects.toBeInstanceOf(WorkflowClientError);
    await expect(emitted).rejects.toMatchObject({ code: "NOT_FOUND", failures: [] });
    expect(await stored(id)).toBe(0);
  });

  it("fails with each URL's reason when no instance answers", async () => {
    const client = createWorkflowClient({ url: [stopped.url, await answering(503)] });
    onDispose(() => client.close());

    const emitted = client.emit({ workflowId: randomUUID(), parentId: randomUUID(), type: "MESSAGE", content: "x" });

    await expect(emitted).rejects.toThrow(/emit failed on every URL: .*ECONNREFUSED.*; .*answered HTTP 503/);
  });
});
