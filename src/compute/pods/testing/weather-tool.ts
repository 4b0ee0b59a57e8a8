// The tool the tool-calling tests offer, in OpenAI's chat shape, and a call of it as an assistant message
// carries it: one place, so the runtime's, the relay's and the end-to-end tests ask the same thing.

export const weatherTool = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Current weather of a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string', enum: ['Paris', 'Rome'] } },
      required: ['city'],
      additionalProperties: false,
    } as Record<string, unknown>,
  },
};

/** A second tool, so that a model has a name to choose. */
export const clockTool = {
  type: 'function' as const,
  function: {
    name: 'get_time',
    parameters: {
      type: 'object',
      properties: { zone: { type: 'string', enum: ['UTC', 'CET'] } },
      required: ['zone'],
      additionalProperties: false,
    } as Record<string, unknown>,
  },
};

/** A call of the weather tool, its arguments as JSON text. */
export const weatherCall = {
  id: 'call_1',
  type: 'function' as const,
  function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
};
