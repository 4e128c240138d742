import net from 'node:net';

/**
 * Moving a connection between the API process and the check process. It uses a few of node's
 * net internals (stable across node 20–22; the check-process test exercises each):
 * - a socket's libuv handle (`_handle`), to stop its reads and to send it alone;
 * - a server's count of its connections (`_connections`), which its `close` waits to reach zero.
 *
 * Node can send a whole socket (`child.send(msg, socket)`), but a socket that came from a server
 * enrolls the receiving process as a cluster-style worker of that server, and once that process
 * has exited the server's `close` never finishes. So the handle goes alone, and the server's
 * count is kept here: it stops counting a connection handed over, and counts one handed back.
 */
interface Handle {
  reading?: boolean;
  readStop?: () => number;
  onread?: unknown;
}
interface SocketInternals {
  _handle: Handle | null;
  server?: ServerInternals | null;
  _server?: ServerInternals | null;
}
interface ServerInternals {
  _connections: number;
}

/**
 * Stops a socket reading and returns what it had read but not delivered. A paused socket may
 * still read from the kernel into its buffer, and a handle's reads are thrown away once it is
 * being sent: those bytes would be lost. Stopped, they stay in the kernel for the process that
 * receives the handle.
 */
export function stopReading(socket: net.Socket): Buffer[] {
  socket.pause();
  // What the socket holds first: read() may start the handle reading again, but nothing is
  // delivered before the event loop turns, and the reads stop below, in this same turn.
  const rest: Buffer[] = [];
  for (let b: Buffer | null; (b = socket.read() as Buffer | null) !== null; ) rest.push(b);
  const handle = (socket as unknown as SocketInternals)._handle;
  if (handle?.readStop) {
    handle.reading = false;
    handle.readStop();
  }
  return rest;
}

/** Takes the handle out of a socket (stopped with `stopReading`) to send it: the socket is left empty, and its server no longer counts it. */
export function detachHandle(socket: net.Socket): unknown {
  const s = socket as unknown as SocketInternals;
  const handle = s._handle;
  if (!handle) return undefined;
  handle.onread = () => undefined;
  s._handle = null;
  socket.setTimeout(0);
  if (s.server) s.server._connections--;
  s.server = s._server = null;
  return handle;
}

/** A socket around a handle received from the other process, counted by `server` (if given) as net.Server counts the connections it accepts. */
export function adoptHandle(handle: unknown, server?: net.Server): net.Socket {
  const socket = new net.Socket({ handle, readable: true, writable: true } as net.SocketConstructorOpts);
  if (server) {
    const s = socket as unknown as SocketInternals;
    s.server = s._server = server as unknown as ServerInternals;
    (server as unknown as ServerInternals)._connections++;
  }
  return socket;
}
