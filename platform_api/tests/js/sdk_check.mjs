// Drives the official TypeScript SDK (npm mem0ai, pinned in package.json) against a running mem0server.
//
//   MEM0_HOST=http://127.0.0.1:8000 MEM0_API_KEY=m0sk_... node sdk_check.mjs [core|entities|all]
//
// core:     add (infer false), getAll with a user filter, search, delete: the memory routes.
// entities: users, batchUpdate, batchDelete, deleteUsers on memories the caller created beforehand and names in
//           MEM0_MEMORY_IDS (comma-separated, all of user MEM0_USER_ID).
// project:  updateProject and getProject, with the values the SDK's types allow (memoryDepth null clears it).
// deleteall: deleteAll with filters (which the SDK writes into the query as "[object Object]"): the error.
// camelfilters: getAll and search with filters {userId: MEM0_USER_ID} (the SDK sends filters' keys as written,
//           though it converts its options' names to snake_case): what each answered, or its error.
// when:     search "…last week?" with referenceDate MEM0_REFERENCE_DATE in user MEM0_USER_ID: the memories found.
// image:    add an image message as Mem0's multimodal docs write it (by URL) for user MEM0_USER_ID, then search
//           "pizza" until the worker has stored it (MEM0_WAIT_SECONDS): the memories found.
// Prints one JSON line of what the server answered; exits 1 with a message on the first mismatch.
import MemoryClient, { MemoryNotFoundError } from "mem0ai";

const host = process.env.MEM0_HOST;
const apiKey = process.env.MEM0_API_KEY;
const part = process.argv[2] || "all";
if (!host || !apiKey) fail("set MEM0_HOST and MEM0_API_KEY");

const client = new MemoryClient({ apiKey, host });
const report = { part };

function fail(message) {
  console.error(`sdk_check: ${message}`);
  process.exit(1);
}

function expect(condition, message, value) {
  if (!condition) fail(`${message}; got ${JSON.stringify(value)}`);
}

const listOf = (answer) => (Array.isArray(answer) ? answer : answer.results);

async function core() {
  const userId = `ts-${Date.now()}`;
  const added = await client.add([{ role: "user", content: "I moved to Lisbon last spring" }], {
    userId,
    infer: false,
  });
  report.added = added;
  // The add is queued (an event id) and done by a worker: wait until the memory is listed (MEM0_WAIT_SECONDS).
  const attempts = Math.ceil((Number(process.env.MEM0_WAIT_SECONDS) || 10) * 5);
  let memories = [];
  for (let attempt = 0; attempt < attempts && memories.length === 0; attempt++) {
    memories = listOf(await client.getAll({ filters: { user_id: userId } }));
    if (memories.length === 0) await new Promise((resolve) => setTimeout(resolve, 200));
  }
  expect(memories.length === 1, "getAll should list the one added memory", memories);
  expect(memories[0].memory === "I moved to Lisbon last spring", "getAll should return the text as added", memories);
  report.listed = memories.map((m) => ({ id: m.id, memory: m.memory, userId: m.userId }));

  const found = listOf(await client.search("Where does the user live?", { filters: { user_id: userId } }));
  expect(found.length >= 1 && found[0].id === memories[0].id, "search should find the memory first", found);
  expect(typeof found[0].score === "number", "search results should carry a score", found[0]);
  report.searched = found.map((m) => ({ id: m.id, memory: m.memory, score: m.score }));

  report.deleted = await client.delete(memories[0].id);
  const after = listOf(await client.getAll({ filters: { user_id: userId } }));
  expect(after.length === 0, "getAll should list nothing after delete", after);
  try {
    await client.get(memories[0].id);
    fail("get of a deleted memory should raise MemoryNotFoundError");
  } catch (error) {
    expect(error instanceof MemoryNotFoundError, "get of a deleted memory should raise MemoryNotFoundError", String(error));
  }
}

async function entities() {
  const userId = process.env.MEM0_USER_ID;
  const ids = (process.env.MEM0_MEMORY_IDS || "").split(",").filter(Boolean);
  expect(userId && ids.length >= 2, "set MEM0_USER_ID and at least two MEM0_MEMORY_IDS", ids);

  const users = (await client.users()).results;
  const user = users.find((entity) => entity.type === "user" && entity.name === userId);
  expect(user && user.totalMemories === ids.length, `users() should list ${userId} with ${ids.length} memories`, users);
  report.users = users.map((e) => ({ type: e.type, name: e.name, totalMemories: e.totalMemories }));

  report.updated = await client.batchUpdate([{ memoryId: ids[0], text: "Updated from TypeScript" }]);
  expect(report.updated.message === "Successfully updated 1 memories", "batchUpdate message", report.updated);
  report.batchDeleted = await client.batchDelete([ids[1]]);
  expect(report.batchDeleted.message === "Successfully deleted 1 memories", "batchDelete message", report.batchDeleted);

  report.usersDeleted = await client.deleteUsers({ userId });
  const left = (await client.users()).results.filter((e) => e.name === userId);
  expect(left.length === 0, "users() should not list a deleted user", left);
}

async function project() {
  report.set = await client.updateProject({ memoryDepth: "deep", customInstructions: "Be brief." });
  report.cleared = await client.updateProject({ memoryDepth: null });
  report.read = await client.getProject({ fields: ["memoryDepth", "customInstructions"] });
}

async function deleteAllWithFilters() {
  try {
    await client.deleteAll({ filters: { user_id: "alice" } });
    fail("deleteAll with filters should raise");
  } catch (error) {
    report.error = { name: error.name, message: error.message };
  }
}

async function camelFilters() {
  const filters = { userId: process.env.MEM0_USER_ID };
  const outcome = (promise) =>
    promise.then(
      (answer) => ({ results: listOf(answer).map((m) => m.memory) }),
      (error) => ({ error: { name: error.name, message: error.message } }),
    );
  report.listed = await outcome(client.getAll({ filters }));
  report.searched = await outcome(client.search("Where does the user live?", { filters }));
}

async function when() {
  const question = "Which city did I meet Maya in at the Orion conference last week?";
  const answer = await client.search(question, {
    filters: { user_id: process.env.MEM0_USER_ID },
    referenceDate: process.env.MEM0_REFERENCE_DATE,
  });
  report.found = answer.results.map((result) => result.memory);
}

async function image() {
  const userId = process.env.MEM0_USER_ID;
  const messages = [
    { role: "user", content: "Hi, my name is Alice." },
    { role: "user", content: { type: "image_url", image_url: { url: "https://example.com/ts/veggie-pizza.jpg" } } },
  ];
  report.added = await client.add(messages, { userId });
  const attempts = Math.ceil((Number(process.env.MEM0_WAIT_SECONDS) || 10) * 5);
  for (let attempt = 0; attempt < attempts; attempt++) {
    report.found = listOf(await client.search("pizza", { filters: { user_id: userId } })).map((m) => m.memory);
    if (report.found.length) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

try {
  if (part === "image") await image();
  if (part === "deleteall") await deleteAllWithFilters();
  if (part === "when") await when();
  if (part === "camelfilters") await camelFilters();
  if (part === "core" || part === "all") await core();
  if (part === "entities" || part === "all") await entities();
  if (part === "project" || part === "all") await project();
} catch (error) {
  fail(`${error.name}: ${error.message}`);
}
console.log(JSON.stringify(report));
