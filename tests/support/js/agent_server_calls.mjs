// The calls tests/integration/test_agent_server_*.py make through the Python client, here through the
// official JS client @langchain/langgraph-sdk: assistants, threads, runs wait and stream, and a 404. Prints
// one JSON object with what each call answered; tests/integration/test_agent_server_js.py asserts on it.
//
//   PLATFORM_URL=http://127.0.0.1:8000 PLATFORM_API_KEY=... node agent_server_calls.mjs TAG
import { readFileSync } from "node:fs";

import { Client } from "@langchain/langgraph-sdk";

const tag = process.argv[2] ?? "js";
// No retries: a failed call must show as the failure it is, not as a later timeout.
const client = new Client({
  apiUrl: process.env.PLATFORM_URL,
  apiKey: process.env.PLATFORM_API_KEY,
  callerOptions: { maxRetries: 0 },
});
const user = (text) => ({ messages: [{ role: "user", content: text }] });

const sdkVersion = JSON.parse(
  readFileSync(new URL("./node_modules/@langchain/langgraph-sdk/package.json", import.meta.url)),
).version;

const assistants = await client.assistants.search({ sortBy: "assistant_id", sortOrder: "asc" });
const assistant = await client.assistants.get("assistant");

const created = await client.threads.create({ metadata: { tag } });
const threadId = created.thread_id;
const got = await client.threads.get(threadId);
const found = await client.threads.search({ metadata: { tag } });

const runsCreated = [];
const waited = await client.runs.wait(threadId, "assistant", {
  input: user(`${tag} use tool calculator: 6*7`),
  onRunCreated: (run) => runsCreated.push(run),
});
const state = await client.threads.getState(threadId);

const parts = [];
for await (const part of client.runs.stream(threadId, "assistant", {
  input: user(`${tag} stream these words`),
  streamMode: ["values", "updates", "messages-tuple"],
  onRunCreated: (run) => runsCreated.push(run),
})) {
  parts.push({ event: part.event, data: part.data, id: part.id ?? null });
}

let notFound = null;
try {
  await client.threads.get(`missing-${tag}`);
} catch (error) {
  notFound = { kind: error.constructor.name, status: error.status ?? null, message: error.message };
}

process.stdout.write(
  JSON.stringify({
    sdk_version: sdkVersion,
    assistants: assistants.map((a) => ({ assistant_id: a.assistant_id, graph_id: a.graph_id })),
    assistant,
    created,
    got,
    found: found.map((t) => t.thread_id),
    waited,
    state,
    stream: parts,
    runs_created: runsCreated,
    not_found: notFound,
  }) + "\n",
);
