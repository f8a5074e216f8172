/**
 * A local SparkPost transmissions endpoint for `deno task bench`: the
 * HTTP counterpart of `smtp-sink`. It answers POST /api/v1/transmissions as
 * the test server's contract does (core/http/test_server.ts: the body is
 * parsed, the recipients counted, 200 with `results`), keeps connections
 * alive, and stores nothing, so memory stays flat however many requests
 * arrive. It runs as a process of its own so that its CPU is measured apart
 * from the client's, as the sink's is.
 *
 *     deno run --allow-net scripts/bench/api_sink.ts API_KEY
 *
 * Prints `{"port": N}` once it listens; stops on SIGTERM or SIGINT.
 *
 * @module
 */
import { contractReply } from "../../core/http/test_server.ts";

if (import.meta.main) {
  const apiKey = Deno.args[0];
  if (!apiKey) {
    console.error("usage: deno run --allow-net scripts/bench/api_sink.ts API_KEY");
    Deno.exit(64);
  }
  const reply = contractReply(apiKey);
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: ({ port }) => console.log(JSON.stringify({ port })),
  }, async (request) => {
    const answer = reply({
      method: request.method,
      path: new URL(request.url).pathname,
      headers: request.headers,
      body: await request.text(),
    });
    const body = typeof answer.body === "string" || answer.body === undefined
      ? answer.body ?? null
      : JSON.stringify(answer.body);
    return new Response(body, {
      status: answer.status,
      headers: { "Content-Type": "application/json", ...answer.headers },
    });
  });
  const stop = () => server.shutdown();
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);
  await server.finished;
  Deno.exit(0);
}
