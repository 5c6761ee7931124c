// The official TypeScript MCP SDK's own OAuth (what mcp-remote, the MCP Inspector and other TypeScript clients
// use) against a live mem0server: MCP_URL, and SESSION, a dashboard session of the account that allows the client.
// The consent page is read and Allow pressed as a person would; prints what the tools answered, as JSON.
// SDK=v2: the SDK v2 (@modelcontextprotocol/client, protocol 2026-07-28, negotiated as its "auto" mode does)
// instead of v1 (@modelcontextprotocol/sdk).
const V2 = process.env.SDK === "v2";
const { Client, StreamableHTTPClientTransport, UnauthorizedError } = V2
  ? await import("@modelcontextprotocol/client")
  : {
      ...(await import("@modelcontextprotocol/sdk/client/index.js")),
      ...(await import("@modelcontextprotocol/sdk/client/auth.js")),
      ...(await import("@modelcontextprotocol/sdk/client/streamableHttp.js")),
    };
const OPTIONS = V2 ? { versionNegotiation: { mode: "auto" } } : {};

const MCP_URL = new URL(process.env.MCP_URL);
const REDIRECT = "http://127.0.0.1:33419/callback"; // the client's own listener: never reached, read from Location

class MemoryProvider {
  constructor() {
    this.info = undefined;
    this.saved = undefined;
    this.verifier = undefined;
    this.authorizationUrl = undefined;
  }
  get redirectUrl() { return REDIRECT; }
  get clientMetadata() {
    return {
      client_name: "TypeScript check",
      redirect_uris: [REDIRECT],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }
  clientInformation() { return this.info; }
  saveClientInformation(info) { this.info = info; }
  tokens() { return this.saved; }
  saveTokens(tokens) { this.saved = tokens; }
  redirectToAuthorization(url) { this.authorizationUrl = url; }
  saveCodeVerifier(verifier) { this.verifier = verifier; }
  codeVerifier() { return this.verifier; }
}

const unescape = (text) =>
  text.replaceAll("&quot;", '"').replaceAll("&#x27;", "'").replaceAll("&lt;", "<").replaceAll("&gt;", ">")
    .replaceAll("&amp;", "&");

async function allow(url) {
  let cookies = `sessionid=${process.env.SESSION}`;
  const page = await fetch(url, { headers: { cookie: cookies } });
  if (page.status !== 200) throw new Error(`consent page answered ${page.status}`);
  const csrf = (page.headers.getSetCookie() || []).map((c) => c.split(";")[0]).find((c) => c.startsWith("csrftoken="));
  if (csrf) cookies += `; ${csrf}`;
  const html = await page.text();
  const form = new URLSearchParams();
  for (const [, name, value] of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)) {
    form.append(name, unescape(value));
  }
  form.append("decision", "allow");
  const answer = await fetch(url.origin + url.pathname, {
    method: "POST", body: form, redirect: "manual",
    headers: { cookie: cookies, "content-type": "application/x-www-form-urlencoded" },
  });
  if (answer.status !== 302) throw new Error(`consent answered ${answer.status}: ${await answer.text()}`);
  const back = new URL(answer.headers.get("location"));
  return { callback: back.searchParams, page: html };
}

const provider = new MemoryProvider();
let client = new Client({ name: "ts-oauth-check", version: "1.0.0" }, OPTIONS);
let transport = new StreamableHTTPClientTransport(MCP_URL, { authProvider: provider });
try {
  await client.connect(transport);
  throw new Error("connected without logging in");
} catch (error) {
  if (!(error instanceof UnauthorizedError)) throw error;
}
const { callback, page } = await allow(provider.authorizationUrl);
// v2 reads the callback's query whole (it checks iss, RFC 9207); v1 takes the code.
await transport.finishAuth(V2 ? callback : callback.get("code"));

client = new Client({ name: "ts-oauth-check", version: "1.0.0" }, OPTIONS);
transport = new StreamableHTTPClientTransport(MCP_URL, { authProvider: provider });
await client.connect(transport);
const version = client.getNegotiatedProtocolVersion?.() ?? transport.protocolVersion;
const text = async (name, args) => JSON.parse((await client.callTool({ name, arguments: args })).content[0].text);
const added = await text("add_memory", { text: "I review pull requests in the morning", infer: false, user_id: "alice" });
const listed = await text("get_memories", { filters: { user_id: "alice" } });
await client.close();
console.log(JSON.stringify({
  added, listed, version, client_id: provider.info.client_id, scope: provider.saved.scope,
  named: page.includes("TypeScript check"),
}));
