// Runs inside a network namespace: listens on 127.0.0.1:<port> for each
// `<port>=<unix socket>` argument and pipes every connection to that socket,
// where the test process (outside the namespace) serves. Filesystem sockets
// are not bound to a network namespace, so this is the namespace's only way
// out. Prints "ready" once every port listens.
import { connect, createServer } from "node:net";

const routes = process.argv.slice(2).map((arg) => {
  const eq = arg.indexOf("=");
  return { port: Number(arg.slice(0, eq)), socket: arg.slice(eq + 1) };
});
let listening = 0;
for (const { port, socket } of routes) {
  const server = createServer((inbound) => {
    const outbound = connect(socket);
    inbound.pipe(outbound).pipe(inbound);
    inbound.on("error", () => outbound.destroy());
    outbound.on("error", () => inbound.destroy());
  });
  server.listen(port, "127.0.0.1", () => {
    listening += 1;
    if (listening === routes.length) process.stdout.write("ready\n");
  });
}
process.on("SIGTERM", () => process.exit(0));
