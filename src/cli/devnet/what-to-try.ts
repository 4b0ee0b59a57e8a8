// What `npm start` prints once the network is up: a curl line, an `openai` client snippet, how to check
// an answer's receipt, where the key's credits stand, what the parties earned, the connected nodes, and
// the operator's side: another key while it runs, the metrics.
import type { DevnetFile } from '../devnet-file.ts';

export function whatToTry(
  devnet: Required<Pick<DevnetFile, 'gatewayUrl' | 'apiKey' | 'operationsUrl' | 'operatorTokenFile'>> & {
    developer: string;
    routerDir: string;
  },
  model: string,
): string {
  const base = `${devnet.gatewayUrl}/v1`;
  const body = JSON.stringify({ model, messages: [{ role: 'user', content: 'Hello!' }], max_tokens: 32 });
  return [
    'try it',
    '',
    `  curl -s ${base}/chat/completions \\`,
    `    -H "Authorization: Bearer ${devnet.apiKey}" -H "Content-Type: application/json" \\`,
    `    -d '${body}'`,
    '',
    '  // with the official openai npm client (node --input-type=module -e "...")',
    `  import OpenAI from 'openai';`,
    `  const client = new OpenAI({ baseURL: '${base}', apiKey: '${devnet.apiKey}' });`,
    '  const stream = await client.chat.completions.create({',
    `    model: '${model}', stream: true, messages: [{ role: 'user', content: 'Hello!' }],`,
    '  });',
    '  for await (const chunk of stream) process.stdout.write(chunk.choices[0]?.delta?.content ?? "");',
    '',
    "  # what an answer cost, checked against the node's signature and the chain (its id: chatcmpl-…)",
    '  npx neurino receipt <id>',
    '',
    "  # the key's credits: on-chain balance, what is not settled yet, what is available",
    `  curl -s ${base}/credits -H "Authorization: Bearer ${devnet.apiKey}"`,
    '',
    "  # what the nodes, the pod's deployer and the gateway (a frontend) earned as batches settled",
    '  npx neurino earnings',
    '',
    '  # the miners connected to the router: state, jobs running, hardware, uptime',
    '  npx neurino nodes',
    '',
    '  # the models it serves and how it scales them: warm nodes, the target, jobs running and queued',
    '  npx neurino pods',
    '',
    "  # another API key while it runs (made through the router's operators' port)",
    `  npx neurino router keys create --account ${devnet.developer} --data-dir ${devnet.routerDir}`,
    '',
    "  # the router's Prometheus metrics, with its operator token",
    `  curl -s ${devnet.operationsUrl}/metrics -H "Authorization: Bearer $(cat ${devnet.operatorTokenFile})"`,
  ].join('\n');
}
