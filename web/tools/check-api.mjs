// Fails when src/api-schema.d.ts is not what `npm run gen:api` writes from the API's current
// OpenAPI document: runs the gen:api command of package.json into a temporary folder and compares.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const web = join(dirname(fileURLToPath(import.meta.url)), "..");
// The command runs from the repository's root (`cd ..`), where the document lives.
const target = "web/src/api-schema.d.ts";
const committed = join(web, "..", target);
const command = JSON.parse(readFileSync(join(web, "package.json"), "utf8")).scripts["gen:api"];
if (!command?.endsWith(` -o ${target}`)) {
  console.error(`check:api: the gen:api script no longer writes ${target}`);
  process.exit(1);
}
const dir = mkdtempSync(join(tmpdir(), "api-schema-"));
const fresh = join(dir, "api-schema.d.ts");
try {
  // `npm run` puts node_modules/.bin on the PATH, so the command runs as gen:api does.
  const gen = spawnSync(`${command.slice(0, -target.length)}'${fresh}'`, { cwd: web, shell: true, stdio: ["ignore", "ignore", "inherit"] });
  if (gen.status !== 0) {
    console.error("check:api: openapi-typescript failed");
    process.exit(1);
  }
  const diff = spawnSync("diff", ["-u", committed, fresh], { encoding: "utf8" });
  if (diff.status !== 0) {
    process.stdout.write(diff.stdout.split("\n").slice(0, 60).join("\n") + "\n");
    console.error("web/src/api-schema.d.ts is stale: run (cd web && npm run gen:api) and commit it");
    process.exit(1);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
