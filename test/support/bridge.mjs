// Runs inside a network namespace: listens on <host>:<port> (127.0.0.1 unless
// given) for each `[<host>:]<port>=<unix socket>` argument and pipes every
// connection to that socket,
// where the test process (outside the namespace) serves. Filesystem sockets
// are not bound to a network namespace, so this is the namespace's only way
// out. Prints "ready" once every port listens.
import { connect, createServer } from "node:net";

const routes = process.argv.slice(2).map((arg) => {
  const eq = arg.indexOf("=");
  const address = arg.slice(0, eq);
  const colon = address.lastIndexOf(":");
  return {
    host: colon === -1 ? "127.0.0.1" : address.slice(0, colon),
    port: Number(address.slice(colon + 1)),
    socket: arg.slice(eq + 1),
  };
});
let listening = 0;
for (const { host, port, socket } of routes) {
  const server = createServer((inbound) => {
    const outbound = connect(socket);
    inbound.pipe(outbound).pipe(inbound);
    inbound.on("error", () => outbound.destroy());
    outbound.on("error", () => inbound.destroy());
  });
  server.listen(port, host, () => {
    listening += 1;
    if (listening === routes.length) process.stdout.write("ready\n");
  });
}
process.on("SIGTERM", () => process.exit(0));
