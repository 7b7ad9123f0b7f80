import WebSocket from "ws";
import { onDispose } from "./harness";

/** A graphql-ws message as it travels on the wire. */
export interface WireMessage {
  type: string;
  id?: string;
  payload?: any;
}

/** A raw WebSocket speaking graphql-transport-ws by hand, for what a typed client would hide. */
export interface RawSocket {
  socket: WebSocket;
  send(message: WireMessage | string): void;
  /** The next message received (queued ones first). */
  next(timeoutMs?: number): Promise<WireMessage>;
  /** The next message with this subscription id and one of `types`. */
  nextFor(id: string, types: string[], timeoutMs?: number): Promise<WireMessage>;
  /** Resolves with the close code and reason once the socket closes. */
  closed: Promise<{ code: number; reason: string }>;
}

export interface RawSocketOptions {
  origin?: string;
  headers?: Record<string, string>;
}

/**
 * Opens a socket with the graphql-ws subprotocol. Rejects with the HTTP status when the upgrade is
 * refused (`{ status }`).
 */
export function openRaw(wsUrl: string, options: RawSocketOptions = {}): Promise<RawSocket> {
  const socket = new WebSocket(wsUrl, "graphql-transport-ws", {
    ...(options.origin ? { origin: options.origin } : {}),
    headers: options.headers ?? {},
  });
  onDispose(() => socket.terminate());
  const queue: WireMessage[] = [];
  const waiters: { resolve: (m: WireMessage) => void; reject: (e: Error) => void }[] = [];
  socket.on("message", (data) => {
    const message = JSON.parse(String(data)) as WireMessage;
    const waiter = waiters.shift();
    if (waiter) waiter.resolve(message);
    else queue.push(message);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.once("close", (code, reason) => {
      for (const waiter of waiters.splice(0)) waiter.reject(new Error(`socket closed (${code})`));
      resolve({ code, reason: String(reason) });
    }),
  );
  const next = (timeoutMs = 10000) => {
    const queued = queue.shift();
    if (queued) return Promise.resolve(queued);
    if (socket.readyState === socket.CLOSED) return Promise.reject(new Error("socket closed"));
    return new Promise<WireMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(waiter), 1);
        reject(new Error(`no message within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = {
        resolve: (m: WireMessage) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      waiters.push(waiter);
    });
  };
  const raw: RawSocket = {
    socket,
    closed,
    next,
    send: (message) => socket.send(typeof message === "string" ? message : JSON.stringify(message)),
    async nextFor(id, types, timeoutMs = 10000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const message = await next(Math.max(1, deadline - Date.now()));
        if (message.id === id && types.includes(message.type)) return message;
      }
    },
  };
  return new Promise((resolve, reject) => {
    socket.once("open", () => resolve(raw));
    socket.once("unexpected-response", (_req, res) =>
      reject(Object.assign(new Error("upgrade refused"), { status: res.statusCode })),
    );
    socket.once("error", reject);
  });
}

/** Opens a socket and completes the graphql-ws handshake (`connection_init` → `connection_ack`). */
export async function openAcked(wsUrl: string, options: RawSocketOptions = {}): Promise<RawSocket> {
  const raw = await openRaw(wsUrl, options);
  raw.send({ type: "connection_init" });
  const ack = await raw.next();
  if (ack.type !== "connection_ack") throw new Error(`expected connection_ack, got ${JSON.stringify(ack)}`);
  return raw;
}
