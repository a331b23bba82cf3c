// Drives openphone-mcp with the official TypeScript SDK client, as a desktop
// app would: lists the tools and calls every one of them with arguments taken
// from its own input schema, then fails if the SDK printed anything at all.
// The SDK compiles every output schema with Ajv and validates each result's
// structured content against it; a non-standard keyword or `format` (schemars'
// `uint`, `double`, …) makes it warn on every `tools/list`.
//
// Usage: node sdk-client.mjs MCP_URL FROM_NUMBER
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [url, from] = process.argv.slice(2);
if (!url || !from) {
  console.error("usage: node sdk-client.mjs MCP_URL FROM_NUMBER");
  process.exit(2);
}

// Everything the SDK (and Ajv inside it) prints goes through console.
const printed = [];
for (const level of ["log", "info", "warn", "error", "debug"]) {
  const original = console[level].bind(console);
  console[level] = (...args) => {
    printed.push(`${level}: ${args.map(String).join(" ")}`);
    original(...args);
  };
}
process.on("warning", (warning) => printed.push(`process warning: ${warning.message}`));

// Arguments for a tool from its schema: each required property's first
// example, with the workspace number the simulator seeds as sender/inbox.
function argumentsFor(tool) {
  const schema = tool.inputSchema;
  const args = {};
  for (const name of schema.required ?? []) {
    const property = schema.properties[name];
    if (name === "from" || name === "inbox") {
      args[name] = from;
    } else if (property.examples?.length) {
      args[name] = property.examples[0];
    } else {
      throw new Error(`${tool.name}: required \`${name}\` has no example in its schema`);
    }
  }
  if (schema.properties.idempotencyKey) args.idempotencyKey = `sdk-client-${tool.name}-${Date.now()}`;
  return args;
}

const client = new Client({ name: "sdk-client-test", version: "1.0.0" });
await client.connect(new StreamableHTTPClientTransport(new URL(url)));
const { tools } = await client.listTools();
if (tools.length === 0) throw new Error("tools/list returned no tools");

const failures = [];
for (const tool of tools) {
  const result = await client.callTool({ name: tool.name, arguments: argumentsFor(tool) });
  const text = result.content?.map((c) => c.text ?? "").join(" ").slice(0, 300);
  if (result.isError) failures.push(`${tool.name} failed: ${text}`);
  else if (tool.outputSchema && result.structuredContent === undefined)
    failures.push(`${tool.name}: no structuredContent although it declares an output schema`);
  process.stdout.write(`called ${tool.name}: ${result.isError ? "error" : "ok"}\n`);
}
await client.close();

if (printed.length > 0) failures.push(`the SDK printed ${printed.length} line(s):\n  ${printed.join("\n  ")}`);
if (failures.length > 0) {
  process.stderr.write(`sdk-client: FAIL\n${failures.join("\n")}\n`);
  process.exit(1);
}
process.stdout.write(`sdk-client: listed and called ${tools.length} tools, nothing printed\n`);
