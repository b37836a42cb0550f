// Opens <count> TCP connections to 127.0.0.1:<port> and sends nothing on them.
// Prints "open <n> closed <m>" once each has connected or failed, then holds
// them until stdin closes. A child of its own, started with a raised open-files
// limit (`ulimit -n`), so the test process needs no more descriptors than usual.
import { connect } from "node:net";

const [port, count] = process.argv.slice(2).map(Number);
let open = 0;
let failed = 0;
let settled = 0;
const sockets = [];
const report = () => {
  if (settled === count) process.stdout.write(`open ${open} failed ${failed}\n`);
};
for (let i = 0; i < count; i++) {
  const socket = connect({ host: "127.0.0.1", port });
  sockets.push(socket);
  socket.once("connect", () => {
    open += 1;
    settled += 1;
    report();
  });
  socket.once("error", () => {
    if (socket.connecting) {
      failed += 1;
      settled += 1;
      report();
    }
  });
}
process.stdin.resume();
process.stdin.on("end", () => process.exit(0));
