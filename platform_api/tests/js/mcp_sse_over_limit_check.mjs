// The official TypeScript MCP SDK v1 (@modelcontextprotocol/sdk) over OpenMemory's SSE URL against a live mem0server:
// MCP_URL and MEM0_API_KEY. Calls add_memories with a text over the server's body limit, then lists the memories;
// prints what each call got, as JSON.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";

const headers = { "X-API-Key": process.env.MEM0_API_KEY };
const transport = new SSEClientTransport(new URL(process.env.MCP_URL), {
  eventSourceInit: { fetch: (url, init) => fetch(url, { ...init, headers: { ...init?.headers, ...headers } }) },
  requestInit: { headers },
});
const client = new Client({ name: "TypeScript SSE check", version: "1.0.0" });
await client.connect(transport);
let refused;
try {
  await client.callTool({ name: "add_memories", arguments: { text: "I keep a long diary. ".repeat(60_000), infer: false } });
  refused = null;
} catch (error) {
  refused = String(error.message);
}
const listed = await client.callTool({ name: "list_memories", arguments: {} });
await client.close();
console.log(JSON.stringify({ refused, listed: { isError: listed.isError ?? false, text: listed.content[0].text } }));
