// Validates an AsyncAPI document with the official parser (@asyncapi/parser, pinned in package.json).
//   node tools/asyncapi/validate.mjs docs/asyncapi.json
// Prints one JSON line {"errors": [...], "warnings": [...], "channels": N, "messages": N, "operations": N} and exits 1
// when the parser reports an error (its diagnostics of severity 0) or could not build a document.
import { readFileSync } from "node:fs";
import { Parser } from "@asyncapi/parser";

const path = process.argv[2];
const parser = new Parser();
const { document, diagnostics } = await parser.parse(readFileSync(path, "utf8"), { source: path });
const describe = (d) => ({ code: d.code, message: d.message, path: d.path.join("/") });
const errors = diagnostics.filter((d) => d.severity === 0).map(describe);
const warnings = diagnostics.filter((d) => d.severity === 1).map(describe);
const summary = { errors, warnings, channels: 0, messages: 0, operations: 0 };
if (document) {
  summary.channels = document.channels().length;
  summary.messages = document.messages().length;
  summary.operations = document.operations().length;
}
console.log(JSON.stringify(summary));
process.exit(errors.length || !document ? 1 : 0);
