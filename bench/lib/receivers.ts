import { fork, type ChildProcess } from "node:child_process";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { sleep } from "./runner";

/** What the bench tells a receiver process (receiver-process.ts). */
export type ReceiverCommand =
  | { type: "graphql"; urls: string[]; workflowId: string; from: number; count: number }
  | { type: "redis"; url: string; channel: string; from: number; count: number }
  | { type: "expect"; key: string; count: number }
  | { type: "forget"; key: string }
  | { type: "live"; reset: boolean }
  | { type: "close" };

/** What a receiver process answers. */
export type ReceiverReply =
  | { type: "opened" | "closed" }
  | { type: "expecting"; key: string }
  | { type: "received"; key: string; times: number[] }
  | { type: "live"; count: number; errors: number }
  | { type: "failed"; message: string };

/** Wall-clock time in ms with sub-millisecond precision, as the receivers read it. */
export const wallClock = () => performance.timeOrigin + performance.now();

/**
 * Subscribers held by child processes, so that 10,000 connections (graphql-ws and ioredis) fit
 * under the per-process open-file limit and their receiving is not one process's single thread.
 * Each receiver reports when each of its subscribers received an event (wall clock, comparable
 * across processes on one machine); latencies are those times minus the send time.
 */
export interface Receivers {
  /** Opens `count` graphql-ws subscribers of `workflowId`, spread over the receivers and `urls` (round robin). */
  graphql(urls: string[], workflowId: string, count: number): Promise<void>;
  /** Opens `count` ioredis connections SUBSCRIBEd to `channel`, spread over the receivers. */
  redis(url: string, channel: string, count: number): Promise<void>;
  /** Sends probes until every one of `count` subscribers has received one. */
  untilLive(count: number, probe: () => Promise<unknown>, timeoutMs?: number): Promise<void>;
  /**
   * Runs `send` and resolves with one latency per subscriber of `kind` (ms since `t0`, a
   * {@link wallClock} time) once every one of them has received `key`.
   */
  expect(
    key: string,
    t0: number,
    kind: SubscriberKind,
    send: () => Promise<unknown>,
    timeoutMs?: number,
  ): Promise<number[]>;
  /** Subscription errors reported so far. */
  errors(): Promise<number>;
  /** Closes every subscriber (the processes stay for the next set). */
  closeSubscribers(): Promise<void>;
  /** Closes every subscriber and ends the processes. */
  stop(): Promise<void>;
}

export type SubscriberKind = "graphql" | "redis";

export async function startReceivers(processes: number): Promise<Receivers> {
  const file = path.join(__dirname, "receiver-process.ts");
  const children: ChildProcess[] = [];
  /** How many subscribers of each kind each child holds (for `expect`). */
  const held: Record<SubscriberKind, number[]> = { graphql: [], redis: [] };
  const listeners = new Set<(child: number, reply: ReceiverReply) => void>();
  for (let i = 0; i < processes; i++) {
    const child = fork(file, [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
    child.on("message", (reply: ReceiverReply) => {
      for (const listener of [...listeners]) listener(i, reply);
    });
    children.push(child);
    held.graphql.push(0);
    held.redis.push(0);
  }
  /** Sends a command to each child and waits for one reply of `type` from each. */
  const all = <T extends ReceiverReply["type"]>(
    commands: (child: number) => ReceiverCommand | undefined,
    type: T,
  ): Promise<Extract<ReceiverReply, { type: T }>[]> => {
    const replies: Extract<ReceiverReply, { type: T }>[] = [];
    const targets = children.map((_, i) => commands(i));
    const waiting = targets.filter(Boolean).length;
    return new Promise((resolve, reject) => {
      const listener = (_child: number, reply: ReceiverReply) => {
        if (reply.type === "failed") {
          listeners.delete(listener);
          reject(new Error(`receiver failed: ${reply.message}`));
        } else if (reply.type === type) {
          replies.push(reply as Extract<ReceiverReply, { type: T }>);
          if (replies.length === waiting) {
            listeners.delete(listener);
            resolve(replies);
          }
        }
      };
      listeners.add(listener);
      targets.forEach((command, i) => command && children[i].send(command));
      if (waiting === 0) {
        listeners.delete(listener);
        resolve(replies);
      }
    });
  };
  const spread = (count: number) => {
    const shares = children.map((_, i) => Math.floor(count / children.length) + (i < count % children.length ? 1 : 0));
    let from = 0;
    return shares.map((share) => {
      const at = from;
      from += share;
      return { from: at, count: share };
    });
  };
  const receivers: Receivers = {
    async graphql(urls, workflowId, count) {
      const shares = spread(count);
      shares.forEach((s, i) => (held.graphql[i] += s.count));
      await all((i) => (shares[i].count ? { type: "graphql", urls, workflowId, ...shares[i] } : undefined), "opened");
    },
    async redis(url, channel, count) {
      const shares = spread(count);
      shares.forEach((s, i) => (held.redis[i] += s.count));
      await all((i) => (shares[i].count ? { type: "redis", url, channel, ...shares[i] } : undefined), "opened");
    },
    async untilLive(count, probe, timeoutMs = 600000) {
      await all(() => ({ type: "live", reset: true }), "live");
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const replies = await all(() => ({ type: "live", reset: false }), "live");
        const seen = replies.reduce((sum, r) => sum + r.count, 0);
        if (seen >= count) return;
        if (Date.now() > deadline) throw new Error(`only ${seen}/${count} subscribers live`);
        await probe();
        await sleep(1000);
      }
    },
    async expect(key, t0, kind, send, timeoutMs = 60000) {
      const counts = held[kind];
      const times: number[] = [];
      let done!: () => void;
      const complete = new Promise<void>((resolve) => (done = resolve));
      const waiting = counts.filter((h) => h > 0).length;
      let reported = 0;
      const listener = (_child: number, reply: ReceiverReply) => {
        if (reply.type !== "received" || reply.key !== key) return;
        times.push(...reply.times);
        if (++reported === waiting) done();
      };
      listeners.add(listener);
      let timer: NodeJS.Timeout | undefined;
      try {
        await all((i) => (counts[i] ? { type: "expect", key, count: counts[i] } : undefined), "expecting");
        await send();
        await Promise.race([
          complete,
          new Promise<void>((_, reject) => {
            timer = setTimeout(
              () => reject(new Error(`only ${reported}/${waiting} receivers got all of ${key}`)),
              timeoutMs,
            );
          }),
        ]);
        return times.map((t) => t - t0);
      } finally {
        clearTimeout(timer);
        listeners.delete(listener);
        children.forEach((child) => child.send({ type: "forget", key } satisfies ReceiverCommand));
      }
    },
    async errors() {
      const replies = await all(() => ({ type: "live", reset: false }), "live");
      return replies.reduce((sum, r) => sum + r.errors, 0);
    },
    async closeSubscribers() {
      await all(() => ({ type: "close" }), "closed");
      held.graphql.fill(0);
      held.redis.fill(0);
    },
    async stop() {
      await receivers.closeSubscribers().catch(() => undefined);
      for (const child of children) child.disconnect();
    },
  };
  return receivers;
}
