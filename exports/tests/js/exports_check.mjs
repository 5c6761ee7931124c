// Drives the official TypeScript SDK's exports (npm mem0ai, installed under platform_api/tests/js) against a
// running mem0server.
//
//   MEM0_HOST=http://127.0.0.1:8000 MEM0_API_KEY=m0sk_... node exports_check.mjs create
//   MEM0_HOST=... MEM0_API_KEY=... MEM0_EXPORT_ID=<id> node exports_check.mjs get
//
// create: createMemoryExport (schema, filters, exportInstructions), then getMemoryExport by id before any job ran.
// get:    getMemoryExport by memoryExportId, and by filters.
// Prints one JSON line of what the server answered.
import MemoryClient from "../../../platform_api/tests/js/node_modules/mem0ai/dist/index.mjs";

const host = process.env.MEM0_HOST;
const apiKey = process.env.MEM0_API_KEY;
const part = process.argv[2];
if (!host || !apiKey) {
  console.error("exports_check: set MEM0_HOST and MEM0_API_KEY");
  process.exit(1);
}
const client = new MemoryClient({ apiKey, host });
const report = { part };

if (part === "create") {
  report.created = await client.createMemoryExport({
    schema: { type: "object", properties: { city: { type: "string" } } },
    filters: { AND: [{ user_id: "ts-export" }] },
    exportInstructions: "Only the city.",
  });
  report.pending = await client.getMemoryExport({ memoryExportId: report.created.id });
} else if (part === "get") {
  report.byId = await client.getMemoryExport({ memoryExportId: process.env.MEM0_EXPORT_ID });
  report.byFilters = await client.getMemoryExport({ filters: { user_id: "ts-export" } });
} else {
  console.error(`exports_check: unknown part ${part}`);
  process.exit(1);
}
console.log(JSON.stringify(report));
