// The peer of the serve benchmark: bare node:http answering a fixed 1 KB JSON
// body, the least any Node server does for a request. Prints its port.
import { createServer } from "node:http";

// {"Code":"Success","Padding":""} is 31 bytes: 1024 in all.
const body = JSON.stringify({ Code: "Success", Padding: "x".repeat(1024 - 31) });
const server = createServer((_req, res) => {
  res.writeHead(200, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
  res.end(body);
});
server.listen(0, "127.0.0.1", () =>
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`),
);
