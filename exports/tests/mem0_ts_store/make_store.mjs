// Writes the Mem0 TypeScript library's own store that exports/tests/test_import_from_mem0.py imports: npm mem0ai's
// Memory (mem0ai/oss) with its defaults, the "memory" vector store (a SQLite file, ~/.mem0/vector_store.db unless
// dbPath is given) and the SQLite history (memory.db), holding four memories: one updated, one deleted.
//
// Made once and kept here, as the library needs better-sqlite3, a native module built from source on a machine
// without its prebuilt binaries (a minute of CPU on every `make test`). To make it again, in an empty folder:
//   npm install mem0ai@3.3.1 openai@4.104.0 better-sqlite3@12 --legacy-peer-deps
//   MEM0_TELEMETRY=false node make_store.mjs <OpenAI-wire URL serving /embeddings> <output folder> > ids.json
// with memories/tests/fake_openai.py's FakeOpenAI(dims=64) as the OpenAI-wire server (inference is off: no chat).
import { Memory } from "mem0ai/oss";

const [baseURL, folder] = process.argv.slice(2);
const memory = new Memory({
  embedder: { provider: "openai", config: { apiKey: "sk-test", baseURL, model: "fake-embed", embeddingDims: 64 } },
  vectorStore: {
    provider: "memory",
    config: { collectionName: "memories", dimension: 64, dbPath: `${folder}/vector_store.db` },
  },
  llm: { provider: "openai", config: { apiKey: "sk-test", baseURL, model: "fake-model" } },
  historyDbPath: `${folder}/memory.db`,
});
const add = async (text, options) => (await memory.add(text, { infer: false, ...options })).results[0].id;
const ids = {};
ids.tea = await add("Likes green tea", { userId: "alice", metadata: { topic: "drinks" } });
ids.city = await add("Lives in Lisbon", { userId: "alice", agentId: "travel-bot" });
ids.run = await add("Booked a table for Friday", { userId: "bob", runId: "run-7" });
ids.gone = await add("Owns a red bicycle", { agentId: "travel-bot" });
await memory.update(ids.tea, "Likes black tea");
await memory.delete(ids.gone);
console.log(JSON.stringify(ids));
