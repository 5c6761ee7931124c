// Mem0's OpenClaw plugin (npm @mem0/openclaw-mem0, pinned in package.json), unchanged, in its "platform" mode with
// this server's URL as its baseUrl: registered the way OpenClaw registers a plugin, then its tools and its two hooks
// (recall before a prompt, capture after a turn) run as OpenClaw runs them. OpenClaw itself (a large application)
// is not installed: the plugin's one import from it, definePluginEntry, returns the entry it is given, and `api` is
// the part of OpenClaw's plugin API the plugin calls. Prints what each step handed back as one JSON line.
//
//   MEM0_HOST=http://127.0.0.1:8000 MEM0_API_KEY=m0sk_… node openclaw_check.mjs <default|skills>
//   OPENCLAW_CONFIG='<the plugin entry's config, as the dashboard gives it>' node openclaw_check.mjs snippet
// (snippet: that configuration as it is, then one search for what alice drinks)
import { standIn } from "./stand_in.mjs";

standIn("openclaw/plugin-sdk/plugin-entry", "export const definePluginEntry = (entry) => entry;");

const { default: plugin } = await import("@mem0/openclaw-mem0");

const mode = process.argv[2];
const userId = `openclaw-${mode}`;
const tools = {};
const hooks = {};
const logs = [];
const api = {
  pluginConfig: (mode === "snippet" && JSON.parse(process.env.OPENCLAW_CONFIG)) || {
    mode: "platform",
    apiKey: process.env.MEM0_API_KEY,
    baseUrl: process.env.MEM0_HOST,
    userId,
    // Skills mode (its triage on): memory_add sends the facts as deduced_memories, without inference.
    ...(mode === "skills" ? { skills: {} } : {}),
  },
  registrationMode: "full",
  logger: { debug() {}, info: (m) => logs.push(String(m)), warn: (m) => logs.push(String(m)), error: (m) => logs.push(String(m)) },
  registerTool: (tool) => (tools[tool.name] = tool),
  on: (name, handler) => (hooks[name] = handler),
  registerService() {},
  registerCli() {},
  resolvePath: (p) => p,
};
plugin.register(api);

const run = async (name, params) => {
  const answer = await tools[name].execute(`call-${name}`, params);
  return { text: answer.content.map((c) => c.text).join("\n"), details: answer.details };
};
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

// Adds are queued on this server (as on Mem0's): list until the worker has stored them, for at most 60 s.
async function listUntil(count) {
  let listed;
  for (let tries = 0; tries < 120; tries++) {
    listed = await run("memory_list", {});
    if ((listed.details?.count ?? 0) >= count) break;
    await sleep(500);
  }
  return listed;
}

const out = { tools: Object.keys(tools).sort(), hooks: Object.keys(hooks).sort() };
if (mode === "snippet") {
  out.search = await run("memory_search", { query: "What does alice drink?" });
  console.log(JSON.stringify(out));
  process.exit(0);
}
// Skills mode sends the facts as they are; otherwise their text goes through the LLM's extraction.
out.add = await run(
  "memory_add",
  mode === "skills" ? { facts: ["Likes green tea", "Lives in Lisbon"], category: "identity" } : { text: "Likes green tea and Lives in Lisbon" },
);
out.listed = await listUntil(2);
out.search = await run("memory_search", { query: "Which city does the user live in?", limit: 1 });
if (mode === "default") {
  // The LLM filed both under the plugin's first category (identity), none under goals: a filter on goals finds none.
  out.identity = await run("memory_search", { query: "Which city does the user live in?", categories: ["identity"] });
  out.goals = await run("memory_search", { query: "Which city does the user live in?", categories: ["goals"] });
}
const found = out.search.details?.memories?.[0] ?? {};
out.get = await run("memory_get", { memoryId: found.id });
out.update = await run("memory_update", { memoryId: found.id, text: "Lives in Porto" });
out.got = await run("memory_get", { memoryId: found.id });
out.events = await run("memory_event_list", {});
out.event = await run("memory_event_status", { event_id: out.events.details?.events?.[0]?.id });

// A turn: recall before the prompt is built (the plugin gives up on it after 8 s: a busy machine tries again),
// then, outside skills mode, the conversation captured after the agent's answer.
const ctx = { sessionKey: `agent:main:${userId}`, trigger: "user" };
for (let tries = 0; tries < 3 && !out.recall?.prependContext; tries++) {
  out.recall = await hooks.before_prompt_build({ prompt: "Where do I live these days?" }, ctx);
}
if (mode === "default") {
  const turn = [
    { role: "user", content: "I started learning the cello last month and I practise every evening after work." },
    { role: "assistant", content: "That's wonderful! How are the lessons going?" },
  ];
  await hooks.agent_end({ success: true, messages: turn }, ctx);
  out.afterCapture = await listUntil(3);
}

out.deleted = await run("memory_delete", { memoryId: found.id });
out.deleteAll = await run("memory_delete", { all: true, confirm: true });
out.empty = await run("memory_list", {});
out.logs = logs;
console.log(JSON.stringify(out));
