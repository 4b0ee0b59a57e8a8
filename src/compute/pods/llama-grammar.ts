// Structured output for the llama-cpp runtime: a response_format as a llama.cpp grammar (GBNF), which
// constrains sampling so that the text is JSON, held to the JSON Schema when one is given.
import type { Llama, LlamaGrammar } from 'node-llama-cpp';
import { PodBadRequestError } from './errors.ts';
import { enforceableSchema } from './json-schema-support.ts';
import type { ResponseFormat } from './types.ts';

/** Grammars of distinct schemas (and tool name lists) kept per runtime; callers usually repeat a few schemas. */
const MAX_SCHEMA_GRAMMARS = 32;
const SCHEMA_PARAM = 'response_format.json_schema.schema';

export class LlamaGrammars {
  readonly #llama: Llama;
  #json: Promise<LlamaGrammar> | undefined;
  /** By the schema's JSON text, oldest first. */
  readonly #schemas = new Map<string, Promise<LlamaGrammar>>();

  constructor(llama: Llama) {
    this.#llama = llama;
  }

  /**
   * The grammar of `format`; a schema with what it cannot enforce is refused (json-schema-support.ts),
   * naming `param` (where the schema came from).
   */
  async grammarFor(format: ResponseFormat, param = SCHEMA_PARAM): Promise<LlamaGrammar> {
    if (format.type === 'json_object') {
      this.#json ??= this.#llama.getGrammarFor('json').then((json) => this.#bounded(json));
      return this.#json;
    }
    return this.#cached(`schema:${JSON.stringify(format.schema)}`, () =>
      this.#fromSchema(enforceableSchema(format.schema, param), param),
    );
  }

  /** A grammar of exactly one of `words` (tool names: letters, digits, `_` and `-`, nothing to escape). */
  oneOf(words: readonly string[]): Promise<LlamaGrammar> {
    const grammar = `root ::= ${words.map((word) => `"${word}"`).join(' | ')}`;
    return this.#cached(grammar, () => this.#llama.createGrammar({ grammar }));
  }

  #cached(key: string, make: () => Promise<LlamaGrammar>): Promise<LlamaGrammar> {
    const known = this.#schemas.get(key);
    if (known !== undefined) return known;
    const grammar = make();
    this.#schemas.set(key, grammar);
    grammar.catch(() => this.#schemas.delete(key));
    if (this.#schemas.size > MAX_SCHEMA_GRAMMARS) {
      const oldest = this.#schemas.keys().next().value;
      if (oldest !== undefined) this.#schemas.delete(oldest);
    }
    return grammar;
  }

  /** `grammar` with its numbers bounded (boundedNumbers), its stop triggers kept. */
  #bounded(grammar: LlamaGrammar): Promise<LlamaGrammar> {
    return this.#llama.createGrammar({
      grammar: boundedNumbers(grammar.grammar),
      stopGenerationTriggers: grammar.stopGenerationTriggers,
      trimWhitespaceSuffix: grammar.trimWhitespaceSuffix,
    });
  }

  async #fromSchema(schema: Record<string, unknown>, param: string): Promise<LlamaGrammar> {
    try {
      // Its generic signature wants a literal schema type; any JSON object is checked at run time.
      return await this.#bounded(await this.#llama.createGrammarForJsonSchema(schema as never));
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new PodBadRequestError(`${param}: cannot make a grammar of this schema: ${reason}`, {
        param,
        cause: error,
      });
    }
  }
}

/** The generator's number rules, by the names it gives them, and the built-in JSON grammar's. */
const INTEGER_RULE = /^integer-number-rule ::= .*$/m;
const FRACTIONAL_RULE = /^fractional-number-rule ::= .*$/m;
const JSON_NUMBER_RULE = /^number ::= .*$/m;
/** Up to 16 digits, as the generator allows, and no exponent: `1e-5` is no integer, `8e478` no number. */
const INTEGER = 'integer-number-rule ::= "-"? ("0" | [1-9] [0-9]{0,15})';
/** An exponent of at most two digits keeps every number finite once parsed (doubles end near 1e308). */
const FRACTIONAL =
  'fractional-number-rule ::= "-"? ("0" | [1-9] [0-9]{0,15}) ("." [0-9]{1,16})? ([eE] [-+]? [0-9]{1,2})?';

const JSON_NUMBER =
  'number ::= ("-"? ([0-9] | [1-9] [0-9]{0,15})) ("." [0-9]{1,16})? ([eE] [-+]? [0-9]{1,2})? ws';

/**
 * The generator's grammar (or the built-in JSON one) with numbers a caller's schema means: its integers may carry any exponent (a
 * weak model writes `8E+478`, which parses as Infinity, or `1e-5`), and its other numbers exponents no
 * double holds. Rules it does not have are left as they are (a test notices when it renames them).
 */
export function boundedNumbers(grammar: string): string {
  return grammar
    .replace(INTEGER_RULE, INTEGER)
    .replace(FRACTIONAL_RULE, FRACTIONAL)
    .replace(JSON_NUMBER_RULE, JSON_NUMBER);
}
