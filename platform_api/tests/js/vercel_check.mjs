// Mem0's Vercel AI SDK provider (npm @mem0/vercel-ai-provider, pinned in package.json with the `ai` package it plugs
// into), unchanged, with this server as the `host` of its memory functions and of its model wrapper. The model it
// wraps is OpenAI's chat model pointed at FAKE_OPENAI_URL (the suite's scripted OpenAI-wire server). Prints what
// each step handed back as one JSON line.
//
//   MEM0_HOST=http://127.0.0.1:8000 MEM0_API_KEY=m0sk_… FAKE_OPENAI_URL=http://127.0.0.1:9/v1 node vercel_check.mjs
import { addMemories, createMem0, getMemories, retrieveMemories, searchMemories } from "@mem0/vercel-ai-provider";
import { generateText } from "ai";

const config = { host: process.env.MEM0_HOST, mem0ApiKey: process.env.MEM0_API_KEY, user_id: "vercel-user" };
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

// One user message of `content` parts added (queued on this server, as on Mem0's), then `question` searched until the
// worker has stored at least `count` memories of it, for at most 60 s; prints what each step handed back.
async function addThenFind(content, question, count = 2) {
  const seen = { added: await addMemories([{ role: "user", content }], config) };
  for (let tries = 0; tries < 120; tries++) {
    seen.got = await getMemories(question, config);
    if (seen.got.length >= count) break;
    await sleep(500);
  }
  console.log(JSON.stringify(seen));
  process.exit(0);
}

if (process.argv[2] === "vision") {
  // Images as the AI SDK's file parts (an image mediaType), by URL, in base64 (PNG_BASE64) and as bytes (GIF_BASE64's,
  // a Uint8Array): the provider sends each as image_url content, which the server's LLM describes when vision is on.
  const photo = new URL("https://example.com/pets/luna-on-the-beach.png");
  await addThenFind(
    [
      { type: "text", text: "This is my dog Luna" },
      { type: "file", mediaType: "image/png", data: photo },
      { type: "file", mediaType: "image/png", data: process.env.PNG_BASE64 },
      { type: "file", mediaType: "image/gif", data: new Uint8Array(Buffer.from(process.env.GIF_BASE64, "base64")) },
    ],
    "Where was Luna?",
  );
}
if (process.argv[2] === "document") {
  // Documents as the AI SDK's file parts: a PDF in base64 (PDF_BASE64), another as a file read into a Buffer
  // (PDF2_BASE64's bytes), Markdown as a Uint8Array (MD_TEXT's): the provider sends each as pdf_url or mdx_url content,
  // which the server reads.
  await addThenFind(
    [
      { type: "text", text: "Here is my lease" },
      { type: "file", mediaType: "application/pdf", data: process.env.PDF_BASE64 },
      { type: "file", mediaType: "application/pdf", data: Buffer.from(process.env.PDF2_BASE64, "base64") },
      { type: "file", mediaType: "text/markdown", data: new TextEncoder().encode(process.env.MD_TEXT) },
    ],
    "How much is the rent?",
    4,
  );
}
const out = {};
out.added = await addMemories([{ role: "user", content: [{ type: "text", text: "I moved to Lisbon last spring" }] }], config);
// The add is queued on this server (as on Mem0's): search until the worker has stored it, for at most 60 s.
for (let tries = 0; tries < 120; tries++) {
  out.got = await getMemories("Which city did I move to?", config);
  if (out.got.length) break;
  await sleep(500);
}
out.retrieved = await retrieveMemories("Which city did I move to?", config);
// A message with an image: the provider sends its text and its image as two messages, the image as an image_url.
try {
  out.addedWithImage = await addMemories(
    [{ role: "user", content: [{ type: "text", text: "This is my cat Miso" }, { type: "image", image: new URL("https://example.com/miso.png") }] }],
    config,
  );
} catch (error) {
  out.addedWithImage = { error: String(error) };
}
for (let tries = 0; tries < 120 && !out.addedWithImage.error; tries++) {
  out.cat = await getMemories("Who is my cat?", config);
  if (out.cat.some((m) => m.memory.includes("Miso"))) break;
  await sleep(500);
}
out.searched = await searchMemories("Which city did I move to?", config);

// A model wrapped by createMem0: the prompt is added here, the memories found go to the model first.
const mem0 = createMem0({
  provider: "openai",
  apiKey: "sk-test",
  config: { baseURL: process.env.FAKE_OPENAI_URL },
  mem0ApiKey: process.env.MEM0_API_KEY,
  mem0Config: { host: process.env.MEM0_HOST, user_id: "vercel-user" },
});
const answer = await generateText({ model: mem0.chat("gpt-test"), prompt: "Which city do I live in?" });
out.text = answer.text;
out.sources = answer.sources.map((source) => source.providerMetadata?.mem0?.memoriesText ?? null);
console.log(JSON.stringify(out));
