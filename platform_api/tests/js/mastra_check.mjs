// Mastra's Mem0 integration (npm @mastra/mem0, pinned in package.json, with the mem0ai 2.x client it depends on),
// unchanged, configured as Mem0's Mastra guide shows with this server as its host. Mastra itself is not installed
// (its peer dependency, not installed here: see .npmrc): the one class the integration extends, Integration from
// @mastra/core, is an empty class here. Prints what the integration handed back as one JSON line.
//
//   MEM0_HOST=http://127.0.0.1:8000 MEM0_API_KEY=m0sk_… node mastra_check.mjs
import { standIn } from "./stand_in.mjs";

standIn("@mastra/core/integration", "export class Integration {}");

const { Mem0Integration } = await import("@mastra/mem0");

const mem0 = new Mem0Integration({
  config: { apiKey: process.env.MEM0_API_KEY, host: process.env.MEM0_HOST, user_id: "mastra-user" },
});
const out = {};
for (const [step, run] of [
  ["created", () => mem0.createMemory("I moved to Lisbon last spring\nI drink green tea every morning")],
  ["found", () => mem0.searchMemory("Which city did I move to?", { top_k: 1 })],
]) {
  try {
    out[step] = await run();
  } catch (error) {
    out[step] = { error: String(error) };
  }
}
console.log(JSON.stringify(out));
