/** Imported `with { type: "file" }` (src/dashboard/assets.ts): the path of the embedded copy. */
declare const path: string;
export default path;
