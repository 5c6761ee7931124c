// Mem0's LangChain.js memory (npm @mem0/community, pinned in package.json: the same code as @langchain/community's
// Mem0Memory, and what Flowise's Mem0 node builds on), unchanged, with this server as the host of its mem0ai 2.x
// client. The part says which memory options it is given:
//   plain       none (LangChain.js's Mem0Memory as its guide makes it)
//   options     the user id, enable_graph false, empty metadata and filters (what Flowise's Mem0 node passes)
//   options-v2  the same with api_version "v2"
// The memory logs a failed request and carries on without memories: what it logged is printed too, with what each
// step handed back, as one JSON line.
//
//   MEM0_HOST=http://127.0.0.1:8000 MEM0_API_KEY=m0sk_… node langchain_check.mjs <part>
import { Mem0Memory } from "@mem0/community";

const errors = [];
console.error = (...parts) => errors.push(parts.map(String).join(" "));
const part = process.argv[2];
const userId = `memory-${part}`;
const options = { user_id: userId, enable_graph: false, metadata: {}, filters: {} };
const memory = new Mem0Memory({
  apiKey: process.env.MEM0_API_KEY,
  sessionId: userId,
  mem0Options: { apiKey: process.env.MEM0_API_KEY, host: process.env.MEM0_HOST },
  memoryOptions: { plain: {}, options, "options-v2": { ...options, api_version: "v2" } }[part],
});
const out = {};
await memory.saveContext({ input: "I moved to Lisbon last spring" }, { output: "Lisbon is lovely in spring!" });
out.searched = (await memory.loadMemoryVariables({ input: "Which city did I move to?" })).history;
out.listed = (await memory.loadMemoryVariables({})).history;
out.errors = errors;
console.log(JSON.stringify(out));
