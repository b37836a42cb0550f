// The peer of the webhook benchmark: bare node:https with the same certificate,
// reading each request's body whole (as any admission webhook must) and
// answering the fixed AdmissionReview the webhook gives the benchmark's pod.
// argv: certFile keyFile answerFile. Prints its port.
import { readFileSync } from "node:fs";
import { createServer } from "node:https";

const [cert, key, answer] = process.argv.slice(2).map((f) => readFileSync(f));
const server = createServer({ cert, key }, (req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    Buffer.concat(chunks);
    res.writeHead(200, { "Content-Type": "application/json", "Content-Length": answer.length });
    res.end(answer);
  });
});
server.listen(0, "127.0.0.1", () =>
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`),
);
