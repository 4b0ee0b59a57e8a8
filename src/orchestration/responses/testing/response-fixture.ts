import type { ResponseObject } from '../../../protocol/openai-responses-api-output.ts';

/** A response object as the gateway keeps one, for tests: completed, no output, unless `fields` say. */
export function responseFixture(id: string, fields: Partial<ResponseObject> = {}): ResponseObject {
  return {
    id,
    object: 'response',
    created_at: 1_800_000_000,
    status: 'completed',
    error: null,
    incomplete_details: null,
    instructions: null,
    metadata: null,
    model: 'tiny',
    output: [],
    parallel_tool_calls: true,
    temperature: null,
    top_p: null,
    tool_choice: 'auto',
    tools: [],
    previous_response_id: null,
    store: true,
    ...fields,
  };
}
