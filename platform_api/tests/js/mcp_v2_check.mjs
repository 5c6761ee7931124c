// The official TypeScript MCP SDK v2 (@modelcontextprotocol/client, the 2026-07-28 protocol) against a live
// mem0server: MCP_URL and MEM0_API_KEY. Negotiates as its "auto" mode does (server/discover first, the handshake
// only if the server offers no 2026 version), lists the tools, adds and searches; prints what it got, as JSON.
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";

const transport = new StreamableHTTPClientTransport(new URL(process.env.MCP_URL), {
  requestInit: { headers: { Authorization: `Bearer ${process.env.MEM0_API_KEY}` } },
});
const client = new Client({ name: "TypeScript v2 check", version: "1.0.0" }, { versionNegotiation: { mode: "auto" } });
await client.connect(transport);
const version = client.getNegotiatedProtocolVersion();
const tools = (await client.listTools()).tools.map((tool) => tool.name);
const added = await client.callTool({ name: "add_memory", arguments: { text: "Sent by the TypeScript SDK v2", infer: false } });
const found = await client.callTool({ name: "search_memories", arguments: { query: "TypeScript SDK" } });
const refused = await client.callTool({ name: "get_memory", arguments: { memory_id: "not-an-id" } });
await client.close();
console.log(
  JSON.stringify({
    version,
    tools,
    added: added.structuredContent,
    found: found.structuredContent,
    refused: { isError: refused.isError, text: refused.content[0].text },
  }),
);
