// The wire protocol as JSON Schema (draft 2020-12), made from the same zod schemas the router and the miner
// decode frames with, so a miner written in another language can check its frames against what the router
// accepts. The schemas describe the frames as they travel (uint256 as decimal strings, hex as text).
// They are a little looser than the decoders, which also check what JSON Schema cannot say: an address's
// EIP-55 checksum, a pod id against its spec, the nesting depth of free JSON.
import { z } from 'zod';
import { MinerMessageSchema, RouterMessageSchema } from './messages/index.ts';
import { PROTOCOL_VERSION } from './version.ts';

export type JsonSchema = z.core.JSONSchema.JSONSchema;

export interface WireJsonSchemaFile {
  /** File name under docs/schemas/. */
  name: string;
  schema: JsonSchema;
}

function frameSchema(schema: z.ZodType, sender: 'miner' | 'router', receiver: string): JsonSchema {
  const json: JsonSchema = z.toJSONSchema(schema, {
    io: 'input',
    unrepresentable: 'throw',
    target: 'draft-2020-12',
  });
  const { $schema: _draft, ...body } = json;
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: `urn:neurino:wire:v${PROTOCOL_VERSION}:${sender}-messages`,
    title: `Neurino wire protocol v${PROTOCOL_VERSION}: frames a ${sender} sends`,
    description:
      `One JSON text frame over the WebSocket between miner and router, sent by the ${sender} and ` +
      `checked by the ${receiver}; its \`type\` says which. Unknown fields are ignored, except in a ` +
      'pod spec (its digest covers every field).',
    ...body,
  };
}

/** Every published schema file, in the form `npm run gen:protocol` writes them. */
export function wireJsonSchemas(): WireJsonSchemaFile[] {
  return [
    { name: 'miner-messages.schema.json', schema: frameSchema(MinerMessageSchema, 'miner', 'router') },
    { name: 'router-messages.schema.json', schema: frameSchema(RouterMessageSchema, 'router', 'miner') },
  ];
}

/** A schema file's text: two-space JSON and a final newline. */
export function renderJsonSchema(schema: JsonSchema): string {
  return `${JSON.stringify(schema, null, 2)}\n`;
}
