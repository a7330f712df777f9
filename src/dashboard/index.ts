/**
 * @module The dashboard folder's public surface: `createDashboard` (pure given its deps), the
 * ports other concerns adapt to, and `embeddedAssets` (the shell that reads static/).
 */
export { embeddedAssets } from "./assets.ts";
export {
  type Asset,
  type AssetSource,
  backendStatus,
  createDashboard,
  type DashboardDeps,
} from "./routes.ts";
export type * from "./port.ts";
