// Renders chat-template cases with @huggingface/jinja, the reference for tst_chat_template_oracle.
// Usage: node render_oracle.mjs NPM_PREFIX CASES.json OUT.json
//   CASES.json: [{"id": ..., "template": "...", "context": {...}}]; OUT.json: [{"id", "text"} or {"id", "error"}]
// Not a test by itself: the C++ test compares its output with Logitscope's interpreter.
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";

const [prefix, casesPath, outPath] = process.argv.slice(2);
const require = createRequire(path.join(path.resolve(prefix), "package.json"));
const { Template } = require("@huggingface/jinja");

const cases = JSON.parse(fs.readFileSync(casesPath, "utf8"));
const out = [];
const parsed = new Map();
for (const c of cases) {
  try {
    if (!parsed.has(c.template)) parsed.set(c.template, new Template(c.template));
    out.push({ id: c.id, text: parsed.get(c.template).render(c.context) });
  } catch (e) {
    out.push({ id: c.id, error: String(e && e.message ? e.message : e) });
  }
}
fs.writeFileSync(outPath, JSON.stringify(out));
