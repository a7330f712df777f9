/**
 * @module The copy of libbitnet embedded in a `bun build --compile` executable. Imported
 * dynamically by library.ts only when the checkout's library is absent, so running from a
 * checkout never needs this file to resolve.
 */
import libPath from "../../native/build/libbitnet.so" with { type: "file" };

export default libPath;
