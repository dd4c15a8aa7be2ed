// The published types: test/types/account.ts (type-level checks of what
// authd answers and of the helpers' signatures) compiles against
// dist/index.d.ts as an app imports it, and the classes the package
// exports show no private members in their declarations.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

test("test/types/account.ts type-checks against the emitted declarations", () => {
  const tsc = require.resolve("typescript/bin/tsc");
  try {
    execFileSync(process.execPath, [tsc, "-p", path.join(root, "test/types/tsconfig.json")], { encoding: "utf8", stdio: "pipe" });
  } catch (e) {
    assert.fail(`tsc found errors:\n${e.stdout}${e.stderr}`);
  }
});

test("no class exported by dist/index.d.ts declares a private or protected member", () => {
  const ts = require("typescript");
  const index = path.join(root, "dist/index.d.ts");
  const program = ts.createProgram([index], { strict: true, noEmit: true, types: [], lib: ["lib.es2020.d.ts", "lib.dom.d.ts"] });
  const checker = program.getTypeChecker();
  const exports = checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(index)));
  const classes = [];
  const hidden = [];
  for (const exported of exports) {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    for (const decl of symbol.declarations ?? []) {
      if (!ts.isClassDeclaration(decl)) continue;
      classes.push(exported.name);
      for (const member of decl.members) {
        const flags = ts.getCombinedModifierFlags(member);
        if (flags & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) hidden.push(`${exported.name}: ${member.getText()}`);
      }
    }
  }
  for (const c of ["AuthdClient", "AuthdError", "MfaRequiredError", "MemoryStorage", "MemoryKeyStore"]) assert.ok(classes.includes(c), c);
  assert.deepEqual(hidden, []);
});
