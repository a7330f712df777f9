/**
 * Ambient declarations for the files the executable embeds: `bun build --compile` turns an
 * import `with { type: "file" }` into the path of the embedded copy (a string), which `Bun.file`
 * and `dlopen` open from the checkout and from the executable alike. The JavaScript files the
 * dashboard serves (static/*.js) have sibling `.d.ts` files saying the same.
 */
declare module "*.gguf" {
  const path: string;
  export default path;
}
declare module "*.so" {
  const path: string;
  export default path;
}
declare module "*.css" {
  const path: string;
  export default path;
}
