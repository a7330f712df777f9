/**
 * @module bunfig preload for every test run: nothing global beyond environment checks.
 * Tests that need the native library build it through `npm test` (make -C native) first.
 */
if (typeof Bun === "undefined") {
  throw new Error("Cannot run the tests: they need Bun (node_modules/.bin/bun test)");
}
