export { isConnectionError, isUnstorableTextError, withDatabase } from "./errors.js";
export {
  type Database,
  type Db,
  MIGRATIONS_FOLDER,
  type OpenDatabaseOptions,
  openDatabase,
} from "./open.js";
export * as tables from "./schema.js";
