// Drives the official TypeScript SDK's profiles (npm mem0ai, installed under platform_api/tests/js) against a
// running mem0server.
//
//   MEM0_HOST=http://127.0.0.1:8000 MEM0_API_KEY=m0sk_... node profiles_check.mjs start
//   MEM0_HOST=... MEM0_API_KEY=... MEM0_STATUS_URL=/v2/profiles/jobs/<id>/ node profiles_check.mjs read
//
// start: updateProfileSettings (enabled, schema, customInstructions), getProfileSettings, generateProfile for
//        ts-user, then getProfile before any job ran.
// read:  getProfile and getProfileJob (by the statusUrl start printed).
// Prints one JSON line of what the server answered.
import MemoryClient from "../../../platform_api/tests/js/node_modules/mem0ai/dist/index.mjs";

const host = process.env.MEM0_HOST;
const apiKey = process.env.MEM0_API_KEY;
const part = process.argv[2];
if (!host || !apiKey) {
  console.error("profiles_check: set MEM0_HOST and MEM0_API_KEY");
  process.exit(1);
}
const client = new MemoryClient({ apiKey, host });
const report = { part };

if (part === "start") {
  report.updated = await client.updateProfileSettings({
    enabled: true,
    schema: {
      type: "object",
      properties: { home_city: { type: ["string", "null"], description: "Where the user lives." } },
    },
    customInstructions: "Only the city.",
  });
  report.settings = await client.getProfileSettings();
  report.job = await client.generateProfile({ entityId: "ts-user" });
  report.pending = await client.getProfile({ entityId: "ts-user" });
} else if (part === "read") {
  report.profile = await client.getProfile({ entityId: "ts-user" });
  report.job = await client.getProfileJob(process.env.MEM0_STATUS_URL);
} else {
  console.error(`profiles_check: unknown part ${part}`);
  process.exit(1);
}
console.log(JSON.stringify(report));
