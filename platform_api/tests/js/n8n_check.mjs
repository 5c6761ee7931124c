// Mem0's n8n node (npm @mem0/n8n-nodes-mem0, pinned in package.json with the n8n-workflow package it imports),
// unchanged, with this server's URL as its credential's Base URL. n8n itself (an application) is not installed: the
// node's `this` is the part of n8n's execution context it calls, and requests go out as n8n's
// httpRequestWithAuthentication sends them (the credential's own `authenticate` headers, `qs` as the query, a JSON
// body, a JSON answer, an error for a 4xx or 5xx). Prints what each step handed back as one JSON line.
//
//   MEM0_HOST=http://127.0.0.1:8000 MEM0_API_KEY=m0sk_… node n8n_check.mjs
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { Mem0 } = require("@mem0/n8n-nodes-mem0/dist/nodes/Mem0/Mem0.node.js");
const { Mem0Api } = require("@mem0/n8n-nodes-mem0/dist/credentials/Mem0Api.credentials.js");

const credentials = { apiKey: process.env.MEM0_API_KEY, baseUrl: process.env.MEM0_HOST };
const credentialType = new Mem0Api();
// The credential's expressions ("=Token {{$credentials.apiKey}}"), resolved as n8n resolves them.
const resolve = (value) =>
  typeof value === "string" && value.startsWith("=")
    ? value.slice(1).replace(/\{\{\s*\$credentials\.(\w+)\s*\}\}/g, (_, name) => credentials[name])
    : value;

async function httpRequest(options) {
  const headers = { ...(options.headers ?? {}) };
  for (const [name, value] of Object.entries(credentialType.authenticate.properties.headers)) {
    headers[name] = resolve(value);
  }
  const url = new URL(resolve(options.baseURL ?? "") + options.url);
  for (const [name, value] of Object.entries(options.qs ?? {})) url.searchParams.set(name, String(value));
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(url, {
    method: options.method ?? "GET",
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  if (!response.ok) {
    const error = new Error(`Request failed with status code ${response.status}: ${text}`);
    error.httpCode = String(response.status);
    throw error;
  }
  return text ? JSON.parse(text) : {};
}

// A node run: one input item, the node's parameters as n8n's editor would hold them.
async function execute(parameters) {
  const context = {
    getInputData: () => [{ json: {} }],
    getCredentials: async () => credentials,
    getNodeParameter(name, _item, fallback) {
      const value = name.split(".").reduce((at, part) => (at === undefined ? undefined : at[part]), parameters);
      return value === undefined ? fallback : value;
    },
    getNode: () => ({ name: "Mem0", type: "@mem0/n8n-nodes-mem0.mem0", typeVersion: 1, parameters }),
    continueOnFail: () => false,
    helpers: { httpRequestWithAuthentication: (_name, options) => httpRequest(options) },
  };
  try {
    const [items] = await new Mem0().execute.call(context);
    return items.map((item) => item.json);
  } catch (error) {
    return { error: error.message, description: error.description ?? null, httpCode: error.httpCode ?? null };
  }
}

const out = {};
// The credential's Test button.
out.credentialTest = await httpRequest(credentialType.test.request);
// The add operation as the node's editor holds it: one user message, the fields under "Additional Fields".
const add = (content, addFields, userId = "n8n-user") =>
  execute({
    resource: "memory",
    operation: "add",
    messages: { message: [{ role: "user", content }] },
    userId,
    addFields: { infer: false, ...addFields },
    waitForCompletion: true,
  });
out.added = await add("I moved to Lisbon last spring", { metadata: '{"workflow": "onboarding"}' });
out.addedToo = await add("I drink green tea every morning", {});
out.searched = await execute({
  resource: "memory",
  operation: "search",
  query: "Which city did I move to?",
  userId: "n8n-user",
  limit: 1,
});
out.pagedAll = await execute({ resource: "memory", operation: "getAll", userId: "n8n-user", returnAll: true, pageSize: 1 });
out.pageTwo = await execute({ resource: "memory", operation: "getAll", userId: "n8n-user", page: 2, pageSize: 1 });
const id = out.searched[0]?.id;
out.got = await execute({ resource: "memory", operation: "get", memoryId: id });
out.updated = await execute({ resource: "memory", operation: "update", memoryId: id, text: "I moved to Porto last spring" });
out.deleted = await execute({ resource: "memory", operation: "delete", memoryId: id });
out.gone = await execute({ resource: "memory", operation: "get", memoryId: id });
out.refused = await add("Stored under a bad id", {}, "has a space");
console.log(JSON.stringify(out));
