import net from 'node:net';

/**
 * A TCP proxy to a database server that forwards everything until a client sends a statement
 * containing `statement`: from there on that connection's bytes to the server are held (never
 * sent), while the server's replies still flow, or (`cut`) the connection is cut both ways. A
 * process caught that way is stopped exactly before that statement, as if its network had failed
 * there. A client's connection closing closes the server's side too, as a dead process's would.
 */
export interface HoldingProxy {
  readonly port: number;
  /** Settles once a statement was held. */
  readonly held: Promise<void>;
  close(): Promise<void>;
}

export async function holdingProxy(
  upstream: { host: string; port: number },
  statement: string,
  then: 'hold' | 'cut' = 'hold',
): Promise<HoldingProxy> {
  const pattern = Buffer.from(statement);
  const sockets = new Set<net.Socket>();
  let markHeld!: () => void;
  const held = new Promise<void>((resolve) => (markHeld = resolve));
  const server = net.createServer((client) => {
    const database = net.connect(upstream);
    sockets.add(client).add(database);
    const closeBoth = () => {
      client.destroy();
      database.destroy();
    };
    let holding = false;
    // A statement split across two reads is still found: the end of the previous read is kept.
    let tail: Buffer = Buffer.alloc(0);
    client.on('data', (chunk: Buffer) => {
      if (!holding && Buffer.concat([tail, chunk]).includes(pattern)) {
        holding = true;
        markHeld();
        if (then === 'cut') closeBoth();
      }
      tail = chunk.subarray(Math.max(0, chunk.length - pattern.length));
      if (!holding) database.write(chunk);
    });
    database.pipe(client);
    client.on('close', closeBoth).on('error', closeBoth);
    database.on('close', closeBoth).on('error', closeBoth);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    held,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
