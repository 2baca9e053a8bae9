#!/usr/bin/env node
// A `solc` command over solc-js (npm `solc`), answering like the native solc command line for the
// parts that Python tooling uses: py-solc-x, brownie, ape-solidity and slither/crytic-compile.
//
// Supported:
//   --version, --help
//   --standard-json [FILE]            Standard JSON on stdin (or FILE), JSON on stdout
//   --combined-json LIST FILES...     legacy combined JSON of the listed outputs
//   --base-path DIR, --include-path DIR (repeatable), --allow-paths DIR[,DIR...]
//   prefix=target remappings as positional arguments (e.g. @openzeppelin/=node_modules/@openzeppelin/)
//   --optimize, --optimize-runs N, --via-ir, --evm-version V, --metadata-hash H, --metadata-literal,
//   --revert-strings R, -o/--output-dir DIR, --overwrite, --pretty-json, --json-indent N, --no-color
//
// The compiler runs in-process through the solc-js library API (not the `solcjs` CLI), so no `>>>`
// banner reaches stdout; a guard strips one anyway. Output is written with a completion callback and
// the exit status is set through process.exitCode: node truncates piped stdout if process.exit()
// follows a large write.
"use strict";

const fs = require("fs");
const path = require("path");

function findSolc() {
  // node_modules of this repository first, then node's normal resolution.
  const local = path.join(__dirname, "..", "node_modules", "solc");
  try {
    return require(local);
  } catch (e) {
    return require("solc");
  }
}

const COMBINED_OUTPUTS = {
  abi: "abi",
  asm: "evm.legacyAssembly",
  ast: "",
  bin: "evm.bytecode.object",
  "bin-runtime": "evm.deployedBytecode.object",
  devdoc: "devdoc",
  "function-debug": "evm.bytecode.functionDebugData",
  "function-debug-runtime": "evm.deployedBytecode.functionDebugData",
  "generated-sources": "evm.bytecode.generatedSources",
  "generated-sources-runtime": "evm.deployedBytecode.generatedSources",
  hashes: "evm.methodIdentifiers",
  metadata: "metadata",
  opcodes: "evm.bytecode.opcodes",
  srcmap: "evm.bytecode.sourceMap",
  "srcmap-runtime": "evm.deployedBytecode.sourceMap",
  "storage-layout": "storageLayout",
  "transient-storage-layout": "transientStorageLayout",
  userdoc: "userdoc",
};
// Accepted for compatibility with old callers; compact AST is the only format since 0.8.10.
const IGNORED_OUTPUTS = new Set(["compact-format"]);

const HELP = `solc, the Solidity commandline compiler (solc-js ${"${VERSION}"} under node).

Usage: solc [options] [input_file...]

General Information:
  --help               Show help message and exit.
  --version            Show version and exit.

Input Options:
  --base-path path     Use the given path as the root of the source tree.
  --include-path path  Make an additional source directory available.
  --allow-paths path(s)
                       Allow a given path for imports. A list of paths can be supplied by separating them with a comma.

Output Formatting:
  --pretty-json        Pretty-print all JSON output.
  --json-indent N      Indent pretty-printed JSON with N spaces.

Alternative Input Modes:
  --standard-json      Switch to Standard JSON input / output mode, ignoring all options.

Output Components:
  --combined-json ${Object.keys(COMBINED_OUTPUTS).concat([...IGNORED_OUTPUTS]).sort().join(",")}
                       Output a single json document containing the specified information.

Optimizer Options:
  --optimize           Enable bytecode optimizer.
  --optimize-runs n    The number of runs specifies roughly how often each opcode will be executed.
  --via-ir             Compile through the Yul IR.
  --evm-version v      Select desired EVM version.
  --metadata-hash h    Choose hash method for the bytecode metadata or disable it (ipfs, bzzr1, none).
  --metadata-literal   Store referenced sources as literal data in the metadata output.
  --revert-strings r   Strip revert strings (default, strip, debug, verboseDebug).
  -o, --output-dir d   If given, creates one file per output component (combined.json here).
  --overwrite          Overwrite existing files.
`;

class UsageError extends Error {}

/** Parse argv into options; unknown options raise UsageError with native solc's wording. */
function parseArgs(argv) {
  const o = {
    files: [], remappings: [], includePaths: [], allowPaths: [], basePath: "",
    standardJson: false, combinedJson: null, optimize: false, optimizeRuns: null, viaIR: false,
    evmVersion: null, metadataHash: null, metadataLiteral: false, revertStrings: null,
    outputDir: null, overwrite: false, pretty: false, indent: 2, version: false, help: false,
  };
  const valueOf = (i, name) => {
    if (i + 1 >= argv.length) throw new UsageError(`the required argument for option '${name}' is missing`);
    return argv[i + 1];
  };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    let inline = null;
    if (a.startsWith("--") && a.includes("=")) {
      inline = a.slice(a.indexOf("=") + 1);
      a = a.slice(0, a.indexOf("="));
    }
    const take = (name) => {
      if (inline !== null) return inline;
      const v = valueOf(i, name);
      i += 1;
      return v;
    };
    switch (a) {
      case "--version": o.version = true; break;
      case "--help": o.help = true; break;
      case "--standard-json": o.standardJson = true; break;
      case "--combined-json": o.combinedJson = take(a); break;
      case "--base-path": o.basePath = take(a); break;
      case "--include-path": o.includePaths.push(take(a)); break;
      case "--allow-paths": o.allowPaths.push(...take(a).split(",").filter(Boolean)); break;
      case "--optimize": o.optimize = true; break;
      case "--optimize-runs": {
        const v = take(a);
        if (!/^\d+$/.test(v)) throw new UsageError(`Invalid option to --optimize-runs: ${v}`);
        o.optimizeRuns = parseInt(v, 10);
        break;
      }
      case "--via-ir": case "--experimental-via-ir": o.viaIR = true; break;
      case "--evm-version": o.evmVersion = take(a); break;
      case "--metadata-hash": o.metadataHash = take(a); break;
      case "--metadata-literal": o.metadataLiteral = true; break;
      case "--revert-strings": o.revertStrings = take(a); break;
      case "-o": case "--output-dir": o.outputDir = take(a); break;
      case "--overwrite": o.overwrite = true; break;
      case "--pretty-json": o.pretty = true; break;
      case "--json-indent": o.indent = parseInt(take(a), 10); o.pretty = true; break;
      case "--no-color": case "--color": case "--error-codes": case "--no-optimize-yul": break;
      case "-": o.files.push("-"); break;
      default:
        if (a.startsWith("-")) throw new UsageError(`unrecognised option '${a}'`);
        if (a.includes("=") && !fs.existsSync(a)) o.remappings.push(a);
        else o.files.push(a);
    }
  }
  return o;
}

const abs = (p) => path.resolve(p);
const isInside = (child, parent) => {
  const rel = path.relative(parent, child);
  return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
};

/**
 * File reader shaped like native solc's: a source unit name is looked up under the base path, then
 * each include path (absolute names as they are), and only inside the allowed directories.
 */
function makeReader(o, cliFiles) {
  const base = o.basePath ? abs(o.basePath) : process.cwd();
  const roots = [base, ...o.includePaths.map(abs)];
  const allowed = [...roots, ...o.allowPaths.map(abs), ...cliFiles.map((f) => path.dirname(abs(f)))];
  for (const r of o.remappings) {
    const target = r.slice(r.indexOf("=") + 1).split("=").pop();
    if (target) allowed.push(abs(path.isAbsolute(target) ? target : path.join(base, target)));
  }
  return function read(unitName) {
    const candidates = path.isAbsolute(unitName) ? [unitName] : roots.map((r) => path.join(r, unitName));
    let outside = null;
    for (const c of candidates) {
      if (!fs.existsSync(c) || !fs.statSync(c).isFile()) continue;
      const real = fs.realpathSync(c);
      if (!allowed.some((d) => isInside(real, d) || isInside(c, d))) {
        outside = c;
        continue;
      }
      return { contents: fs.readFileSync(c, "utf8") };
    }
    if (outside) return { error: `File outside of allowed directories: ${outside}` };
    return { error: `File not found. Searched the following locations: ${roots.map((r) => `"${r}"`).join(", ")}.` };
  };
}

/** Source unit name of a command-line path: relative to the base path (or cwd) / include path if inside. */
function unitNameOf(file, o) {
  const full = abs(file);
  const roots = [o.basePath ? abs(o.basePath) : process.cwd(), ...o.includePaths.map(abs)];
  for (const r of roots) {
    if (isInside(full, r)) return path.relative(r, full).split(path.sep).join("/");
  }
  return full;
}

function stripBanner(text) {
  // solc-js's CLI prints a `>>>` notice line before the JSON; never pass one through.
  return text.split("\n").filter((l) => !l.startsWith(">>>")).join("\n");
}

function emit(text, code) {
  process.exitCode = code;
  if (text) process.stdout.write(text);
}

function readStdin() {
  return fs.readFileSync(0, "utf8");
}

function applyCommonSettings(settings, o) {
  if (o.optimize || o.optimizeRuns !== null) {
    settings.optimizer = { enabled: o.optimize, runs: o.optimizeRuns === null ? 200 : o.optimizeRuns };
  }
  if (o.viaIR) settings.viaIR = true;
  if (o.evmVersion) settings.evmVersion = o.evmVersion;
  if (o.metadataHash || o.metadataLiteral) {
    settings.metadata = {};
    if (o.metadataHash) settings.metadata.bytecodeHash = o.metadataHash;
    if (o.metadataLiteral) settings.metadata.useLiteralContent = true;
  }
  if (o.revertStrings) settings.debug = { revertStrings: o.revertStrings };
  if (o.remappings.length) settings.remappings = [...(settings.remappings || []), ...o.remappings];
}

function runStandardJson(solc, o) {
  const inputText = o.files.length && o.files[0] !== "-" ? fs.readFileSync(o.files[0], "utf8") : readStdin();
  let input;
  try {
    input = JSON.parse(inputText);
  } catch (e) {
    const err = { errors: [{ component: "general", formattedMessage: `Error: Invalid JSON input: ${e.message}`,
      message: `Invalid JSON input: ${e.message}`, severity: "error", type: "JSONError" }] };
    return emit(JSON.stringify(err) + "\n", 0);
  }
  // Remappings given on the command line join the input's settings (native solc reads them only from
  // the input; accepting both keeps wrappers that pass them as arguments working).
  input.settings = input.settings || {};
  if (o.remappings.length) input.settings.remappings = [...(input.settings.remappings || []), ...o.remappings];
  const out = solc.compile(JSON.stringify(input), { import: makeReader(o, []) });
  // Standard JSON mode reports compile errors inside the JSON and exits 0, as native solc does.
  emit(stripBanner(out) + "\n", 0);
}

function runCombinedJson(solc, o) {
  const requested = o.combinedJson.split(",").map((s) => s.trim()).filter(Boolean);
  for (const r of requested) {
    if (!(r in COMBINED_OUTPUTS) && !IGNORED_OUTPUTS.has(r)) {
      throw new UsageError(`Invalid option to --combined-json: ${r}`);
    }
  }
  if (!o.files.length) throw new UsageError("No input files given. If you wish to use the standard input please specify \"-\" explicitly.");
  const sources = {};
  const cliFiles = [];
  for (const f of o.files) {
    if (f === "-") {
      sources["<stdin>"] = { content: readStdin() };
      continue;
    }
    if (!fs.existsSync(f)) {
      process.stderr.write(`"${f}" is not found.\n`);
      process.exitCode = 1;
      return;
    }
    cliFiles.push(f);
    sources[unitNameOf(f, o)] = { content: fs.readFileSync(f, "utf8") };
  }
  const contractOut = requested.filter((r) => COMBINED_OUTPUTS[r]).map((r) => COMBINED_OUTPUTS[r]);
  const settings = { outputSelection: { "*": { "*": contractOut, "": requested.includes("ast") ? ["ast"] : [] } } };
  applyCommonSettings(settings, o);
  const input = { language: "Solidity", sources, settings };
  const output = JSON.parse(stripBanner(solc.compile(JSON.stringify(input), { import: makeReader(o, cliFiles) })));

  let failed = false;
  for (const e of output.errors || []) {
    process.stderr.write((e.formattedMessage || e.message) + "\n");
    if (e.severity === "error") failed = true;
  }
  if (failed) {
    process.exitCode = 1;
    return;
  }
  const get = (obj, dotted) => dotted.split(".").reduce((x, k) => (x === undefined ? undefined : x[k]), obj);
  const combined = { contracts: {}, sourceList: [], sources: {}, version: solc.version() };
  for (const [file, contracts] of Object.entries(output.contracts || {})) {
    for (const [name, c] of Object.entries(contracts)) {
      const entry = {};
      for (const r of requested) {
        if (!COMBINED_OUTPUTS[r]) continue;
        const v = get(c, COMBINED_OUTPUTS[r]);
        if (v !== undefined) entry[r] = v;
      }
      combined.contracts[`${file}:${name}`] = entry;
    }
  }
  const ids = Object.entries(output.sources || {}).sort((a, b) => a[1].id - b[1].id);
  for (const [file, s] of ids) {
    combined.sourceList.push(file);
    combined.sources[file] = requested.includes("ast") ? { AST: s.ast, id: s.id } : { id: s.id };
  }
  const text = (o.pretty ? JSON.stringify(combined, null, o.indent) : JSON.stringify(combined)) + "\n";
  if (o.outputDir) {
    const target = path.join(o.outputDir, "combined.json");
    if (fs.existsSync(target) && !o.overwrite) {
      process.stderr.write(`Refusing to overwrite existing file "${target}" (use --overwrite to force).\n`);
      process.exitCode = 1;
      return;
    }
    fs.mkdirSync(o.outputDir, { recursive: true });
    fs.writeFileSync(target, text);
    process.exitCode = 0;
    return;
  }
  emit(text, 0);
}

function main() {
  let o;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(e.message + "\n");
      process.exitCode = 1;
      return;
    }
    throw e;
  }
  const solc = findSolc();
  const version = solc.version();
  if (o.version) {
    return emit(`solc, the solidity compiler commandline interface\nVersion: ${version}\n`, 0);
  }
  if (o.help) return emit(HELP.replace("${VERSION}", version), 0);
  try {
    if (o.standardJson) return runStandardJson(solc, o);
    if (o.combinedJson !== null) return runCombinedJson(solc, o);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(e.message + "\n");
      process.exitCode = 1;
      return;
    }
    throw e;
  }
  process.stderr.write("This solc front-end supports --standard-json and --combined-json only.\n");
  process.exitCode = 1;
}

main();
