/** Network plumbing shared by every listener: accept, read lines byte-exactly, upgrade to TLS. */
export {
  EndOfInputError,
  type Line,
  type LineEnding,
  LineReader,
  type LineReaderOptions,
  type Overflow,
} from "./line_reader.ts";
export { Connection, type ConnectionOptions, type Endpoint, TimeoutError } from "./connection.ts";
export {
  listen,
  type Listener,
  type ListenOptions,
  overLimit,
  type RefusalReason,
} from "./listener.ts";
