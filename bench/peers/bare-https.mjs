// The peer of the webhook benchmark: bare node:https with the same certificate,
// reading each request's body whole (as any admission webhook must) and
// answering the fixed AdmissionReview the webhook gives the benchmark's pod.
// With `json` it also does the least any webhook in JavaScript does with a
// review: JSON.parse the body and JSON.stringify the answer object — the floor
// under the webhook's figures.
// argv: certFile keyFile answerFile [json]. Prints its port.
import { readFileSync } from "node:fs";
import { createServer } from "node:https";

const [cert, key, answer] = process.argv.slice(2, 5).map((f) => readFileSync(f));
const json = process.argv[5] === "json";
const answerObject = JSON.parse(answer.toString("utf8"));
const server = createServer({ cert, key }, (req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    const out = json && JSON.parse(body.toString("utf8")) ? JSON.stringify(answerObject) : answer;
    res.writeHead(200, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(out) });
    res.end(out);
  });
});
server.listen(0, "127.0.0.1", () =>
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`),
);
