// Drives the official TypeScript SDK's webhook methods (npm mem0ai, installed under platform_api/tests/js) against a
// running mem0server:
//
//   MEM0_HOST=http://127.0.0.1:8000 MEM0_API_KEY=m0sk_... WEBHOOK_URL=http://127.0.0.1:9/hook node webhooks_check.mjs
//
// createWebhook, getWebhooks, updateWebhook, deleteWebhook in turn. Prints one JSON line of what the server
// answered; exits 1 with a message on the first failure.
import MemoryClient from "../../../platform_api/tests/js/node_modules/mem0ai/dist/index.mjs";

const { MEM0_HOST: host, MEM0_API_KEY: apiKey, WEBHOOK_URL: url } = process.env;

function fail(message) {
  console.error(`webhooks_check: ${message}`);
  process.exit(1);
}

if (!host || !apiKey || !url) fail("set MEM0_HOST, MEM0_API_KEY and WEBHOOK_URL");

try {
  const client = new MemoryClient({ apiKey, host });
  const report = {};
  report.created = await client.createWebhook({ name: "ts hook", url, eventTypes: ["memory_add"] });
  report.listed = await client.getWebhooks();
  const webhookId = report.created.webhookId; // the SDK hands back camelCase keys
  report.updated = await client.updateWebhook({ webhookId, name: "ts hook 2", eventTypes: ["memory_delete"] });
  report.listedAfterUpdate = await client.getWebhooks();
  report.deleted = await client.deleteWebhook({ webhookId });
  report.listedAfterDelete = await client.getWebhooks();
  console.log(JSON.stringify(report));
} catch (error) {
  fail(error.stack || String(error));
}
