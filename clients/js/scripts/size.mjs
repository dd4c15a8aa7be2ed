// npm run size: the browser bundle, minified and gzipped; fails at 10 KiB or more.
import { gzipSync } from "node:zlib";
import { bundle } from "./bundle.mjs";

const LIMIT = 10 * 1024;
const code = await bundle();
const gz = gzipSync(code, { level: 9 }).length;
console.log(`@authd/client browser bundle: ${code.length} bytes minified, ${gz} bytes min+gzip (limit ${LIMIT})`);
if (gz >= LIMIT) {
  console.error("bundle too large");
  process.exit(1);
}
