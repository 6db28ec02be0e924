// Prints a YAML file as JSON (for tests/shards.rs, which checks the Kubernetes example).
import yaml from "js-yaml";
import fs from "node:fs";
console.log(JSON.stringify(yaml.load(fs.readFileSync(process.argv[2], "utf8"))));
