import { workflowChannel } from "../src/live/event-bus";
import { APPEND_NODE } from "./support/documents";
import {
  disposeAll,
  eventually,
  gqlOk,
  newWorkflow,
  onDispose,
  startApp,
  subscribe,
  wsClient,
  type RunningApp,
} from "./support/harness";
import { startRedisCluster, type RedisCluster } from "./support/redis-cluster";
import type { RedisProcess } from "./support/redis-process";
import { delivered, range, watch } from "./support/watcher";

/**
 * A real Redis Cluster of three masters (no replicas) started here: the API publishes with SPUBLISH
 * and listens with SSUBSCRIBE, so each workflow's events travel only through the shard that owns
 * its channel's slot.
 */

afterAll(disposeAll);

/** Appends a MESSAGE under `parentId`; throws unless it succeeded. */
async function append(url: string, workflowId: string, parentId: string, content: string) {
  const data = await gqlOk(url, APPEND_NODE, { input: { workflowId, parentId, type: "MESSAGE", content } });
  return data.appendNode as { id: string; seq: number };
}

interface Placed {
  workflowId: string;
  parent: string;
  owner: RedisProcess;
}

/** Starts workflows until each master owns the channel of one of them (at most 60 tries). */
async function oneWorkflowPerShard(cluster: RedisCluster, api: RunningApp): Promise<Placed[]> {
  const placed = new Map<RedisProcess, Placed>();
  for (let i = 0; i < 60 && placed.size < cluster.nodes.length; i++) {
    const { workflowId, rootId } = await newWorkflow(api.url);
    const owner = await cluster.ownerOf(workflowChannel(workflowId));
    if (!placed.has(owner)) placed.set(owner, { workflowId, parent: rootId, owner });
  }
  if (placed.size < cluster.nodes.length) throw new Error("could not place a workflow on every shard");
  return cluster.nodes.map((node) => placed.get(node)!);
}

const shardChannels = async (cluster: RedisCluster, node: RedisProcess) =>
  (await cluster.command(node, "PUBSUB", "SHARDCHANNELS")) as string[];

describe("Redis Cluster (REDIS_CLUSTER_NODES): sharded pub/sub", () => {
  let cluster: RedisCluster;
  let api: RunningApp;
  beforeAll(async () => {
    cluster = await startRedisCluster({ onDispose });
    // No periodic resync: only live delivery, a gap seen by a later event, or the resync after a
    // shard's subscriber connection is back can complete a stream.
    api = await startApp({ redisUrl: undefined, redisClusterNodes: cluster.seeds, eventResyncIntervalMs: 3600000 });
  }, 120000);

  it("delivers each workflow's events in order through the shard that owns its channel, and only there", async () => {
    const workflows = await oneWorkflowPerShard(cluster, api);
    const slots = await Promise.all(workflows.map((w) => cluster.slotOf(workflowChannel(w.workflowId))));
    expect(new Set(slots).size).toBe(3);

    const watchers = workflows.map((w) => watch(api.url, w.workflowId, 0));
    await eventually(() => workflows.every((w) => api.app.liveSubscribers(w.workflowId) === 1), 20000);
    // Interleaved appends: three shards carry them at once.
    for (let i = 1; i <= 4; i++) {
      for (const w of workflows) w.parent = (await append(api.url, w.workflowId, w.parent, `event ${i}`)).id;
    }
    await Promise.all(watchers.map((watcher) => delivered(watcher, 4)));
    for (const watcher of watchers) expect(watcher.seqs).toEqual(range(1, 4));
    for (const [i, watcher] of watchers.entries()) {
      expect(watcher.events.map((e) => e.node?.content)).toEqual(range(1, 4).map((n) => `event ${n}`));
      expect(watcher.events.every((e) => e.workflowId === workflows[i]!.workflowId)).toBe(true);
    }

    // Sharded: each channel is a shard channel on its owner only, and no node has a plain channel.
    for (const node of cluster.nodes) {
      const expected = workflows.filter((w) => w.owner === node).map((w) => workflowChannel(w.workflowId));
      const mine = workflows.map((w) => workflowChannel(w.workflowId));
      expect((await shardChannels(cluster, node)).filter((c) => mine.includes(c)).sort()).toEqual(expected.sort());
      expect(await cluster.command(node, "PUBSUB", "CHANNELS")).toEqual([]);
    }

    // The last subscriber leaving sends SUNSUBSCRIBE to the owner.
    for (const watcher of watchers) watcher.stop();
    await eventually(async () => {
      for (const w of workflows) {
        if ((await shardChannels(cluster, w.owner)).includes(workflowChannel(w.workflowId))) return false;
      }
      return true;
    }, 20000);
  });

  it("loses nothing while one master restarts: appends succeed, other shards stay live, the resync fills the gap", async () => {
    const workflows = await oneWorkflowPerShard(cluster, api);
    const [down, ...others] = workflows as [Placed, ...Placed[]];
    const watchers = workflows.map((w) => watch(api.url, w.workflowId, 0));
    await eventually(() => workflows.every((w) => api.app.liveSubscribers(w.workflowId) === 1), 20000);
    for (const w of workflows) w.parent = (await append(api.url, w.workflowId, w.parent, "before")).id;
    await Promise.all(watchers.map((watcher) => delivered(watcher, 1)));

    // A second workflow on the shard about to stop, with no subscriber yet.
    let unheard = await newWorkflow(api.url);
    for (let i = 0; i < 60 && (await cluster.ownerOf(workflowChannel(unheard.workflowId))) !== down.owner; i++) {
      unheard = await newWorkflow(api.url);
    }
    expect(await cluster.ownerOf(workflowChannel(unheard.workflowId))).toBe(down.owner);

    expect((await fetch(`${api.origin}/readyz`)).status).toBe(200);
    await down.owner.stop();
    // Readiness asks every master: a missing shard makes the instance not ready.
    await eventually(async () => (await fetch(`${api.origin}/readyz`)).status === 503, 20000);
    // Neo4j holds the truth: appends on every shard succeed, the failed SPUBLISH is only logged.
    for (let i = 2; i <= 4; i++) {
      for (const w of workflows) {
        const node = await append(api.url, w.workflowId, w.parent, `during ${i}`);
        expect(node.seq).toBe(i);
        w.parent = node.id;
      }
    }
    // The shards that are up deliver live meanwhile (no timer resync runs here).
    await Promise.all(others.map((w) => delivered(watchers[workflows.indexOf(w)]!, 4, 30000)));

    // A first subscriber of a channel on the missing shard is refused (clients retry), without
    // harm to the instance.
    const refused = subscribe(wsClient(api.wsUrl), `subscription($w: ID!) { workflowEvents(workflowId: $w) { seq } }`, {
      w: unheard.workflowId,
    });
    await expect(refused.next(30000)).rejects.toThrow(/SERVICE_UNAVAILABLE/);

    // Same port, same nodes.conf: it comes back owning the same slots, empty. The subscriber
    // connection to it is made again, SSUBSCRIBE re-sent, and the resync reads what was missed.
    await down.owner.start();
    await cluster.untilOk(60000);
    await delivered(watchers[0]!, 4, 60000);
    await eventually(async () => (await fetch(`${api.origin}/readyz`)).status === 200, 30000);
    await eventually(async () => (await shardChannels(cluster, down.owner)).includes(workflowChannel(down.workflowId)));
    // The refused channel was forgotten, not subscribed again with the others.
    expect(await shardChannels(cluster, down.owner)).not.toContain(workflowChannel(unheard.workflowId));

    // Live again on the restarted shard.
    for (const w of workflows) w.parent = (await append(api.url, w.workflowId, w.parent, "after")).id;
    await Promise.all(watchers.map((watcher) => delivered(watcher, 5, 30000)));
    for (const watcher of watchers) {
      expect(watcher.seqs).toEqual(range(1, 5));
      expect(watcher.errors).toEqual([]);
    }
  }, 90000);
});
