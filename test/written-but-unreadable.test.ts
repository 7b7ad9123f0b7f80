import { randomUUID } from "node:crypto";
import { createConnection, createServer, type AddressInfo, type Socket } from "node:net";
import type { Driver } from "neo4j-driver";
import {
  disposeAll,
  eventually,
  gql,
  newWorkflow,
  onDispose,
  startApp,
  testConfig,
  testDriver,
} from "./support/harness";
import { expectNoLeak } from "./support/raw";
import { startTcpProxy } from "./support/tcp-proxy";

/**
 * A mutation that committed never reports plain failure: when reading back the client's selection
 * fails after the commit, the answer is WRITTEN_BUT_UNREADABLE with what was written, and a retry
 * with the same id returns the node without writing it twice.
 *
 * The fault lands exactly between commit and read-back: Redis is reached through a proxy that can
 * hold the API's bytes, so the publish that follows the commit waits; meanwhile the test sees the
 * commit in Neo4j, cuts the API's Neo4j connections, and lets the publish through.
 */

afterAll(disposeAll);

/** `parent` is not a stored field: the loader has to read it from Neo4j after the commit. */
const APPEND_WITH_PARENT = /* GraphQL */ `
  mutation Append($input: AppendNodeInput!) {
    appendNode(input: $input) {
      id
      seq
      content
      parent {
        id
      }
    }
  }
`;

/** A TCP proxy that can hold what clients send (buffered, in order) until released. */
async function startHoldingProxy(target: { host: string; port: number }) {
  const open = new Set<Socket>();
  let held: Buffer[][] | undefined;
  const pipes: { upstream: Socket; queue: Buffer[] }[] = [];
  const server = createServer((client) => {
    const upstream = createConnection(target);
    const pipe = { upstream, queue: [] as Buffer[] };
    pipes.push(pipe);
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on("close", () => open.delete(socket));
      socket.on("error", () => socket.destroy());
    }
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    client.on("data", (chunk: Buffer) => (held ? pipe.queue.push(chunk) : upstream.write(chunk)));
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  onDispose(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of open) socket.destroy();
      }),
  );
  return {
    port: (server.address() as AddressInfo).port,
    hold() {
      held = [];
    },
    /** Whether the bytes held so far contain `text` (a command's arguments travel as plain bytes). */
    holds(text: string) {
      return pipes.some((pipe) => Buffer.concat(pipe.queue).includes(text));
    },
    release() {
      held = undefined;
      for (const pipe of pipes) for (const chunk of pipe.queue.splice(0)) pipe.upstream.write(chunk);
    },
  };
}

async function storedCount(driver: Driver, id: string): Promise<number> {
  const { records } = await driver.executeQuery(`MATCH (n:WorkflowNode {id: $id}) RETURN count(n) AS c`, { id });
  return Number(records[0].get("c"));
}

async function lastSeq(driver: Driver, workflowId: string): Promise<number> {
  const { records } = await driver.executeQuery(`MATCH (w:Workflow {id: $id}) RETURN w.lastSeq AS s`, {
    id: workflowId,
  });
  return Number(records[0].get("s"));
}

it("answers WRITTEN_BUT_UNREADABLE with the ids and seq written when the read-back fails after commit", async () => {
  const redis = new URL(testConfig().redisUrl!);
  const redisProxy = await startHoldingProxy({ host: redis.hostname, port: Number(redis.port || 6379) });
  const neo4jProxy = await startTcpProxy();
  const { url } = await startApp({
    neo4j: { ...testConfig().neo4j, uri: `bolt://127.0.0.1:${neo4jProxy.port}` },
    redisUrl: `redis://127.0.0.1:${redisProxy.port}`,
  });
  const driver = testDriver();
  const { workflowId, rootId } = await newWorkflow(url);
  const input = { id: randomUUID(), workflowId, parentId: rootId, type: "MESSAGE", content: "committed" };

  redisProxy.hold();
  const requestId = `unreadable-${input.id}`;
  const answer = fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", "x-request-id": requestId },
    body: JSON.stringify({ query: APPEND_WITH_PARENT, variables: { input } }),
  }).then((res) => res.text()); // not awaited on purpose: it waits on the held publish
  await eventually(async () => (await storedCount(driver, input.id)) === 1);
  // The commit is visible before the API has its acknowledgement; the held publish (which names the
  // node) shows the API has it, so cutting Neo4j now can only hit the read-back.
  await eventually(async () => redisProxy.holds(input.id));
  neo4jProxy.pause();
  redisProxy.release();

  const text = await answer;
  expectNoLeak(text);
  const body = JSON.parse(text) as {
    data?: unknown;
    errors?: { message: string; extensions?: Record<string, unknown> }[];
  };
  expect(body.data ?? null).toBeNull();
  expect(body.errors).toHaveLength(1);
  expect(body.errors![0].extensions).toEqual({ code: "WRITTEN_BUT_UNREADABLE", ids: [input.id], seq: 1, requestId });
  expect(body.errors![0].message).toMatch(/committed/);
  expect(body.errors![0].message).toMatch(/idempotent/);

  // The retry the error invites writes nothing again.
  neo4jProxy.resume();
  await eventually(async () => (await gql(url, APPEND_WITH_PARENT, { input })).errors === undefined, 30000);
  const retry = await gql(url, APPEND_WITH_PARENT, { input });
  expect(retry.data?.appendNode).toEqual({ id: input.id, seq: 1, content: "committed", parent: { id: rootId } });
  expect(await storedCount(driver, input.id)).toBe(1);
  expect(await lastSeq(driver, workflowId)).toBe(1);
}, 60000);
