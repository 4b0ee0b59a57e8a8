// Server-sent events (https://html.spec.whatwg.org/multipage/server-sent-events.html), as far as
// OpenAI-compatible servers use them: `event` and `data` fields, comments, any line ending.

export interface ServerSentEvent {
  readonly event: string;
  readonly data: string;
}

/**
 * Yields each complete event; an event cut off by the end of the stream is dropped, as the spec says.
 * `body` is any byte stream: a web ReadableStream or a Node Readable (an HTTP response body).
 */
export async function* readServerSentEvents(
  body: AsyncIterable<Uint8Array>,
): AsyncGenerator<ServerSentEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  let skipLineFeed = false;
  let event = '';
  let data: string[] = [];
  for await (const chunk of body) {
    let text = decoder.decode(chunk, { stream: true });
    // A CR ending one chunk and an LF starting the next are a single line ending.
    if (skipLineFeed && text.startsWith('\n')) text = text.slice(1);
    skipLineFeed = text.endsWith('\r');
    buffer += text;
    const lines = buffer.split(/\r\n|\r|\n/);
    buffer = lines.pop() ?? '';
    for (const line of lines) {
      if (line === '') {
        if (data.length > 0) yield { event: event === '' ? 'message' : event, data: data.join('\n') };
        event = '';
        data = [];
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'data') data.push(value);
      else if (field === 'event') event = value;
    }
  }
}
