import { describe, expect, it } from 'vitest';
import { PodBadRequestError, PodUnsupportedError } from './errors.ts';
import { enforceableSchema } from './json-schema-support.ts';

const ROOT = 'response_format.json_schema.schema';

function refusal(schema: unknown): { error: unknown; param: string | undefined; message: string } {
  try {
    enforceableSchema(schema);
  } catch (error) {
    const { param, message } = error as { param?: string; message: string };
    return { error, param, message };
  }
  throw new Error('expected a refusal');
}

describe('enforceableSchema', () => {
  it('keeps what the grammar enforces, drops annotations and reads anyOf as oneOf', () => {
    const schema = {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      title: 'Answer',
      description: 'An answer',
      type: 'object',
      properties: {
        verdict: { enum: ['yes', 'no'], default: 'no' },
        when: { type: 'string', format: 'date' },
        note: { anyOf: [{ type: 'string', maxLength: 40 }, { type: 'null' }] },
        tags: { type: 'array', items: { $ref: '#/$defs/tag' }, minItems: 1, maxItems: 3 },
        pair: { type: 'array', prefixItems: [{ type: 'integer' }, { const: 'x' }] },
        mixed: { type: ['string', 'null'] },
      },
      required: ['verdict'],
      additionalProperties: false,
      $defs: { tag: { type: 'string', minLength: 1, examples: ['a'] } },
    };
    expect(enforceableSchema(schema)).toEqual({
      description: 'An answer',
      type: 'object',
      properties: {
        verdict: { enum: ['yes', 'no'] },
        when: { type: 'string', format: 'date' },
        note: { oneOf: [{ type: 'string', maxLength: 40 }, { type: 'null' }] },
        tags: { type: 'array', items: { $ref: '#/$defs/tag' }, minItems: 1, maxItems: 3 },
        pair: { type: 'array', prefixItems: [{ type: 'integer' }, { const: 'x' }] },
        mixed: { type: ['string', 'null'] },
      },
      required: ['verdict'],
      additionalProperties: false,
      $defs: { tag: { type: 'string', minLength: 1 } },
    });
  });

  it.each([
    [{ type: 'string', pattern: '^a+$' }, `${ROOT}.pattern`, /the keyword "pattern"/],
    [
      { type: 'object', properties: { n: { type: 'integer', minimum: 0 } } },
      `${ROOT}.properties.n.minimum`,
      /"minimum"/,
    ],
    [{ allOf: [{ type: 'string' }] }, `${ROOT}.allOf`, /"allOf"/],
    [{ type: 'string', format: 'email' }, `${ROOT}.format`, /format "email"/],
    [{ $ref: 'https://example.com/s.json' }, `${ROOT}.$ref`, /reference/],
    [{ const: { a: 1 } }, `${ROOT}.const`, /object or a list/],
    [{ type: ['object', 'null'] }, `${ROOT}.type`, /use anyOf/],
  ])('refuses what it cannot enforce: %j', (schema, param, message) => {
    const found = refusal(schema);
    expect(found.error).toBeInstanceOf(PodUnsupportedError);
    expect(found.param).toBe(param);
    expect(found.message).toMatch(message);
  });

  it.each([
    [[1], ROOT],
    [{ type: 'wat' }, `${ROOT}.type`],
    [{ type: [] }, `${ROOT}.type`],
    [{ type: 'object', properties: [] }, `${ROOT}.properties`],
    [{ type: 'object', required: 'a' }, `${ROOT}.required`],
    [{ type: 'string', maxLength: -1 }, `${ROOT}.maxLength`],
    [{ enum: [] }, `${ROOT}.enum`],
    [{ anyOf: [] }, `${ROOT}.anyOf`],
    [{ type: 'array', items: 'string' }, `${ROOT}.items`],
    [{ $ref: '#/$defs/missing' }, `${ROOT}.$ref`],
  ])('refuses a malformed schema: %j', (schema, param) => {
    const found = refusal(schema);
    expect(found.error).toBeInstanceOf(PodBadRequestError);
    expect(found.param).toBe(param);
  });

  it('refuses a schema nested without end', () => {
    let schema: Record<string, unknown> = { type: 'string' };
    for (let i = 0; i < 40; i++) schema = { type: 'array', items: schema };
    expect(refusal(schema).message).toMatch(/at most 32 levels/);
  });
});
