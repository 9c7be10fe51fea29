/**
 * An ordered list of lookup tables from one parameter (Postfix maps(3)): a
 * key is looked up in each table in turn and the first answer wins. Tables
 * are opened on first use, so a table nobody asks about costs nothing.
 */
import { type SearchKey, type SearchResult, searchTables } from "../maps/search.ts";
import type { LookupTable, OpenTable } from "./types.ts";
import { traceLookup, tracing } from "./trace.ts";

export class TableList {
  readonly #specs: readonly string[];
  readonly #open: (spec: string) => LookupTable;
  readonly #opened = new Map<string, LookupTable>();

  /**
   * @param param the parameter the specs came from, for messages
   * @param aliasSpecs specs to open as aliases(5) files (those listed in alias_maps)
   */
  constructor(
    readonly param: string,
    specs: readonly string[],
    openTable: OpenTable,
    aliasSpecs: ReadonlySet<string> = new Set(),
  ) {
    this.#specs = specs;
    this.#open = (spec) =>
      aliasSpecs.has(spec) ? openTable(spec, { aliases: true }) : openTable(spec);
  }

  /** postconf(5): an empty list means "no tables", which several parameters treat specially. */
  get empty(): boolean {
    return this.#specs.length === 0;
  }

  get specs(): readonly string[] {
    return this.#specs;
  }

  /** The first table's answer for `key` (a full key: pattern tables are asked too). */
  async find(key: string): Promise<string | undefined> {
    return (await this.search([{ key, partial: false }]))?.value;
  }

  /**
   * maps_find() over a search order: each key in every table before the next
   * key; partial keys skip pattern tables (DICT_FLAG_FIXED). Open or lookup
   * failures reject; callers turn them into temporary errors.
   */
  async search(keys: SearchKey[]): Promise<SearchResult | undefined> {
    if (this.#specs.length === 0) return undefined;
    const tables = this.#specs.map((spec) => this.#table(spec));
    // The route explainer shows every key tried, found or not.
    const onLookup = tracing()
      ? (t: LookupTable, key: string, value?: string) => traceLookup(this.param, t.spec, key, value)
      : undefined;
    return await searchTables(tables, keys, onLookup);
  }

  #table(spec: string): LookupTable {
    let table = this.#opened.get(spec);
    if (!table) {
      table = this.#open(spec);
      this.#opened.set(spec, table);
    }
    return table;
  }
}
