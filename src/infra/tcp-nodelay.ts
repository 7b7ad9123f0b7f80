import net from "node:net";
import tls from "node:tls";

let installed = false;

/**
 * Turns on TCP_NODELAY for the sockets this process opens with `net.connect` / `tls.connect`.
 *
 * Why: neo4j-driver (5.x) never disables Nagle's algorithm on its Bolt sockets and writes large
 * messages in 1,400-byte pieces, so any query whose text and parameters exceed that waits for the
 * server's delayed ACK — about 40 ms per transaction on Linux, whatever the query costs. Our
 * write statements are larger than that. The driver has no option for it and creates its sockets
 * with `net.connect` (`tls.connect` for encrypted URIs), so those are wrapped. Every protocol this
 * process speaks (Bolt, Redis) is request/response, for which no-delay is the right setting
 * (ioredis already sets it on its own sockets).
 */
export function enableTcpNoDelay(): void {
  if (installed) return;
  installed = true;
  const wrap = <F extends (...args: never[]) => net.Socket>(connect: F): F =>
    function (this: unknown, ...args: Parameters<F>) {
      const socket = connect.apply(this, args);
      socket.setNoDelay(true);
      return socket;
    } as F;
  net.connect = wrap(net.connect as (...args: never[]) => net.Socket) as typeof net.connect;
  net.createConnection = wrap(net.createConnection as (...args: never[]) => net.Socket) as typeof net.createConnection;
  tls.connect = wrap(tls.connect as (...args: never[]) => net.Socket) as typeof tls.connect;
}
