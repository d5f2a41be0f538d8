// A real HTTP CONNECT proxy for tests (what a kubeconfig's proxy-url points at in a
// corporate network): tunnels TCP to the requested host:port and records each CONNECT.

import { createServer, type Server } from "node:http";
import { connect, type AddressInfo } from "node:net";

export interface ConnectProxy {
  readonly url: string;
  /** host:port of every CONNECT request, in order. */
  readonly connects: string[];
  close(): Promise<void>;
}

export async function startConnectProxy(): Promise<ConnectProxy> {
  const connects: string[] = [];
  const server: Server = createServer((_req, res) => {
    res.writeHead(405).end("CONNECT only\n");
  });
  server.on("connect", (req, client, head) => {
    const target = req.url ?? "";
    connects.push(target);
    const [host = "", port = "443"] = target.split(/:(?=\d+$)/);
    const upstream = connect(Number(port), host, () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    const close = (): void => {
      upstream.destroy();
      client.destroy();
    };
    upstream.on("error", close);
    client.on("error", close);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    connects,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => { resolve(); });
      }),
  };
}
