// Preloaded into the jsii kernel's Node process (NODE_OPTIONS=--require, set by
// stacks/aws_bindings.py). The Node half of the lean loader: the provider's lib/index.js
// requires all of its submodules when the assembly is loaded (@cdktf/provider-aws 20.x: ~2,100,
// ~3.5 s; @cdktn/provider-aws 25.x: ~2,400). Hand the kernel an exports object whose submodules
// are required on first access instead. The name -> folder map is read from that same
// index.js, so nothing is guessed.
"use strict";
const fs = require("fs");
const path = require("path");
const Module = require("module");

// cdktf line (20.x): `exports.vpc = require("./vpc");`
// cdktn line (25.x): `exports.vpc = __importStar(require("./vpc/index"));`
const PACKAGE_NAMES = new Set(["@cdktf/provider-aws", "@cdktn/provider-aws"]);
const EXPORT_LINE = /exports\.(\w+) = (__importStar\()?require\("\.\/([^"]+)"\)/g;
const lazyIndexes = new Map();
const originalLoad = Module._load;

Module._load = function (request, parent, isMain) {
  const filename = resolve(request, parent);
  if (filename && isProviderIndex(filename)) {
    if (!lazyIndexes.has(filename)) lazyIndexes.set(filename, lazyExports(filename));
    return lazyIndexes.get(filename);
  }
  return originalLoad.apply(this, arguments);
};

function resolve(request, parent) {
  try {
    return Module._resolveFilename(request, parent);
  } catch (error) {
    return null; // let the original loader report it
  }
}

function isProviderIndex(filename) {
  if (path.basename(filename) !== "index.js" || path.basename(path.dirname(filename)) !== "lib") return false;
  try {
    const manifest = JSON.parse(fs.readFileSync(path.join(path.dirname(filename), "..", "package.json"), "utf8"));
    return PACKAGE_NAMES.has(manifest.name);
  } catch (error) {
    return false;
  }
}

function lazyExports(filename) {
  const directory = path.dirname(filename);
  const exportsObject = { __esModule: true };
  for (const [, name, star, folder] of fs.readFileSync(filename, "utf8").matchAll(EXPORT_LINE)) {
    Object.defineProperty(exportsObject, name, {
      enumerable: true,
      configurable: true,
      get() {
        const required = require(path.join(directory, folder));
        const submodule = star ? importStar(required) : required;
        Object.defineProperty(exportsObject, name, { value: submodule, enumerable: true });
        return submodule;
      },
    });
  }
  return exportsObject;
}

// TypeScript's __importStar helper, as the index.js applies it: an ES module passes through,
// a CommonJS one is wrapped (own properties + `default`).
function importStar(mod) {
  if (mod && mod.__esModule) return mod;
  const result = {};
  if (mod != null) {
    for (const key of Object.keys(mod)) if (key !== "default") result[key] = mod[key];
  }
  result.default = mod;
  return result;
}
